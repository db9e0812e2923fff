package testdocker

// ImageTar returns the root filesystem of the test image (see Image) as a
// tar archive, for a caller that imports it itself under its own name and
// labels (cmd/docker-tail's event generator). The tool is built once per
// process; callers must not modify the returned bytes.
func ImageTar() ([]byte, error) {
	tarOnce.Do(func() { tarBytes, tarErr = buildImageTar() })
	return tarBytes, tarErr
}
