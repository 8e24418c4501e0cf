package imagetok

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// EnvDir names the environment variable that overrides Dir.
const EnvDir = "INFLATESHRINK_DATA"

// Dir returns the folder of the real data sets' caches: $INFLATESHRINK_DATA
// when set, otherwise inflateshrink under os.UserCacheDir (on Linux
// $XDG_CACHE_HOME/inflateshrink or ~/.cache/inflateshrink).
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("imagetok: no cache folder (set %s): %w", EnvDir, err)
	}
	return filepath.Join(c, "inflateshrink"), nil
}

// magic starts every cache file; the kind and version follow it.
const magic = "inflateshrink-cache\n"

// ErrNotSetUp is wrapped by ReadCache's error when the file does not exist.
var ErrNotSetUp = errors.New("not set up")

// CachePath is the file under dir of the cache called name in format
// version: "<name>.v<version>.cache". A new format gets a new file, so a
// program never meets a cache of a version it does not read unless the
// file was copied under another name.
func CachePath(dir, name string, version uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%s.v%d.cache", name, version))
}

// WriteCache stores v (gob-encoded) in path under kind and version:
// magic, kind, version, payload length, SHA-256 of the payload, payload.
// It writes a temporary file beside path, syncs it and renames it over
// path, so path holds either the old content or the whole new one.
func WriteCache(path, kind string, version uint32, v any) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(v); err != nil {
		return fmt.Errorf("imagetok: encoding %s cache: %w", kind, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("imagetok: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("imagetok: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("imagetok: %w", err)
	}
	sum := sha256.Sum256(payload.Bytes())
	var hdr bytes.Buffer
	hdr.WriteString(magic + kind + "\n")
	binary.Write(&hdr, binary.LittleEndian, version)
	binary.Write(&hdr, binary.LittleEndian, uint64(payload.Len()))
	hdr.Write(sum[:])
	if _, err := f.Write(hdr.Bytes()); err == nil {
		_, err = f.Write(payload.Bytes())
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("imagetok: writing %s: %w", path, err)
	}
	return nil
}

// ReadCache loads into v what WriteCache stored in path under kind and
// version. A missing file gives an error wrapping ErrNotSetUp; a file of
// another kind or version, truncated, or with a wrong checksum gives an
// error naming the file. Every error ends with the hint "run: <setup>".
func ReadCache(path, kind string, version uint32, v any, setup string) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("imagetok: %s: %s; run: %s", path, fmt.Sprintf(format, a...), setup)
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("imagetok: %s does not exist (%w); run: %s", path, ErrNotSetUp, setup)
	}
	if err != nil {
		return fail("%v", err)
	}
	defer f.Close()
	head := magic + kind + "\n"
	buf := make([]byte, len(head)+4+8+sha256.Size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return fail("truncated header")
	}
	if string(buf[:len(head)]) != head {
		return fail("not a %s cache", kind)
	}
	rest := buf[len(head):]
	if got := binary.LittleEndian.Uint32(rest); got != version {
		return fail("cache format version %d, this program reads version %d", got, version)
	}
	n := binary.LittleEndian.Uint64(rest[4:])
	st, err := f.Stat()
	if err != nil {
		return fail("%v", err)
	}
	if uint64(st.Size()) != uint64(len(buf))+n {
		return fail("%d bytes, the header promises %d", st.Size(), uint64(len(buf))+n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(f, payload); err != nil {
		return fail("%v", err)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], rest[12:]) {
		return fail("checksum mismatch")
	}
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(v); err != nil {
		return fail("decoding: %v", err)
	}
	return nil
}
