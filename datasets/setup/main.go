// Command setup fetches, verifies and caches a real data set:
//
//	go run ./datasets/setup emoji|emoji-small|tuxpaint
//
// emoji-small builds only the 200-emoji subset used by smoke tests
// ("emoji-style-small"); emoji builds both. The caches go to $INFLATESHRINK_DATA, or inflateshrink under the user's
// cache folder (~/.cache/inflateshrink on Linux). A set already set up is
// left as it is. Cache files are named with their format version
// ("emoji.v2.cache"), so a new format is built beside the old file, which
// older checkouts keep reading (delete it when none needs it). Version 2
// adds 48-pixel thumbnails for the "<set>@s48..." tokenisations: the emoji
// cache grew from 42 to 203 MB, the small one from 3 to 13 MB, and the
// set-up time is unchanged, about 20 minutes for emoji on 2 busy cores, as
// rendering dominates it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/inflateshrink/inflateshrink/datasets/emoji"
	"github.com/inflateshrink/inflateshrink/datasets/imagetok"
	"github.com/inflateshrink/inflateshrink/datasets/tuxpaint"
)

var sets = map[string]func(context.Context, string, *slog.Logger) error{
	"emoji":       emoji.Setup,
	"emoji-small": emoji.SetupSmall,
	"tuxpaint":    tuxpaint.Setup,
}

func main() {
	if len(os.Args) != 2 || sets[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: go run ./datasets/setup emoji|emoji-small|tuxpaint")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	dir, err := imagetok.Dir()
	if err == nil {
		start := time.Now()
		if err = sets[os.Args[1]](ctx, dir, log); err == nil {
			log.Info("setup: done", "set", os.Args[1], "folder", dir, "seconds", time.Since(start).Seconds())
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		os.Exit(1)
	}
}
