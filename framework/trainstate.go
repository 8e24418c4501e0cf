package framework

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"

	"github.com/inflateshrink/inflateshrink/models"
)

// trainingState is where a stage's training state is kept between epochs
// (the weights, the optimiser's moments, the validation's choice so far),
// so that an interrupted run resumes exactly, and what was found there.
// The file is private to one experiment and config: its name holds both,
// and so does its content, which a resume checks with a SHA-256 of the
// state, so that another trial's state (or a damaged file) is never
// resumed from.
type trainingState struct {
	path, experiment, configHash string
	resume                       *models.TrainState // nil: start afresh
}

// stateFile is the on-disk form of a training state.
type stateFile struct {
	Experiment, ConfigHash string
	SHA256                 []byte // of State
	State                  []byte // gob of models.TrainState
}

// openTrainingState finds the training state of experiment's config c
// under dir. A file that cannot be read, is damaged or belongs to another
// trial is not resumed from: the error says why, and the run starts
// afresh.
func openTrainingState(dir, experiment string, c Config) (trainingState, error) {
	hash := c.Hash()
	s := trainingState{path: filepath.Join(dir, fmt.Sprintf("%s-%s.resume", experimentFileName(experiment), hash)), experiment: experiment, configHash: hash}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("framework: training state: %w", err)
	}
	var f stateFile
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&f); err != nil {
		return s, fmt.Errorf("framework: training state %s: %w", s.path, err)
	}
	if f.Experiment != experiment || f.ConfigHash != hash {
		return s, fmt.Errorf("framework: training state %s belongs to experiment %q, config %s, not %q, config %s", s.path, f.Experiment, f.ConfigHash, experiment, hash)
	}
	if sum := sha256.Sum256(f.State); !bytes.Equal(sum[:], f.SHA256) {
		return s, fmt.Errorf("framework: training state %s is damaged: its SHA-256 does not match", s.path)
	}
	var state models.TrainState
	if err := gob.NewDecoder(bytes.NewReader(f.State)).Decode(&state); err != nil {
		return s, fmt.Errorf("framework: training state %s: %w", s.path, err)
	}
	s.resume = &state
	return s, nil
}

// save writes st atomically, so that a kill while writing leaves the
// previous epoch's state.
func (s trainingState) save(st models.TrainState) error {
	var state bytes.Buffer
	if err := gob.NewEncoder(&state).Encode(st); err != nil {
		return fmt.Errorf("framework: save training state %s: %w", s.path, err)
	}
	sum := sha256.Sum256(state.Bytes())
	var file bytes.Buffer
	if err := gob.NewEncoder(&file).Encode(stateFile{Experiment: s.experiment, ConfigHash: s.configHash, SHA256: sum[:], State: state.Bytes()}); err != nil {
		return fmt.Errorf("framework: save training state %s: %w", s.path, err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), models.TempPattern(s.path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(file.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("framework: save training state %s: %w", s.path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

// remove deletes the state: the run finished, or failed and starts afresh.
func (s trainingState) remove() { os.Remove(s.path) }

// experimentFileName is experiment as a file name: every character but
// letters, digits, '-', '_' and '.' becomes '_'.
func experimentFileName(experiment string) string {
	return unsafeFileChars.ReplaceAllString(experiment, "_")
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// tempFile matches the temporary files of models.TempPattern and the pid
// that wrote them.
var tempFile = regexp.MustCompile(`\.tmp([0-9]+)-[0-9]+$`)

// removeStaleTemps deletes the temporary files under dir that a process
// which no longer runs left behind (killed while writing a checkpoint or
// a training state), and returns their names. Another live process's
// files are kept: it may be writing them now.
func removeStaleTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("framework: clean %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		m := tempFile.FindStringSubmatch(e.Name())
		if m == nil || e.IsDir() {
			continue
		}
		pid, err := strconv.Atoi(m[1])
		if err != nil || processRuns(pid) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// processRuns reports whether a process with this pid exists on this host
// (signal 0 checks without sending). A recycled pid keeps a file until
// that process ends too, which costs only disk.
func processRuns(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
