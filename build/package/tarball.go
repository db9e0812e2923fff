package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// writeTarball writes a .tar.gz holding file at its root, under its base
// name, with nothing else: falcoctl (internal/utils/extract.go) creates each
// regular file of the archive directly in the install directory, as
// falcosecurity/plugins' Makefile packs them (tar -C dir $(ls -A dir)).
// Owner and timestamps are fixed so that the same input gives the same bytes,
// and so the same digest once pushed.
func writeTarball(out, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	mtime, err := buildTime(info.ModTime())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	hdr := &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     filepath.Base(file),
		Mode:     int64(info.Mode().Perm()),
		Size:     int64(len(data)),
		ModTime:  mtime,
		Format:   tar.FormatUSTAR,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar header of %s: %w", file, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("tar %s: %w", file, err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar %s: %w", file, err)
	}
	if err := gz.Close(); err != nil {
		return fmt.Errorf("gzip %s: %w", file, err)
	}
	return writeFileAtomic(out, buf.Bytes())
}

// buildTime is SOURCE_DATE_EPOCH when set (reproducible builds), else the
// file's modification time.
func buildTime(modTime time.Time) (time.Time, error) {
	epoch := os.Getenv("SOURCE_DATE_EPOCH")
	if epoch == "" {
		return modTime.Truncate(time.Second), nil
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", epoch, err)
	}
	return time.Unix(sec, 0), nil
}

// writeFileAtomic writes data to file through a temporary file in the same
// directory, so that an interrupted run leaves no truncated artifact.
func writeFileAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return os.Rename(tmp.Name(), file)
}
