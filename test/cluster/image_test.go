// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build cluster

package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/nodetest"
)

// The image the chart runs on the node: the name the install sets.
const (
	imageRegistry   = "acmehub.test"
	imageRepository = "acmehub"
	imageTag        = "test"
)

// buildStage is what the Dockerfile's build stage leaves for the final one:
// each path it copies from, made here the way the build stage makes it.
func buildStage(t *testing.T, dir string) map[string]nodetest.File {
	t.Helper()
	bin := filepath.Join(dir, "acmehub")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/acmehub/acmehub/cmd.Version=test", "-o", bin, ".")
	build.Dir = testutil.Root(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building acmehub as the Dockerfile does: %v\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]nodetest.File{
		"/out/acmehub": {Mode: 0o755, Data: data},
		"/out/data":    {Mode: 0o755, Dir: true},
	}
}

// acmehubImage writes the image of the Dockerfile's final stage as an OCI
// archive: its base's files (distroless/static's, as nodetest.Distroless
// has them), each COPY from the build stage with its owner, and its user,
// working directory, entrypoint, command and ports.
func acmehubImage(t *testing.T) (string, nodetest.Stage) {
	t.Helper()
	dockerfile, err := os.ReadFile(filepath.Join(testutil.Root(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stage, err := nodetest.FinalStage(dockerfile)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if stage.From != "gcr.io/distroless/static-debian12:nonroot" {
		t.Fatalf("the Dockerfile's final stage is FROM %s: nodetest.Distroless stands in for distroless/static-debian12:nonroot only", stage.From)
	}
	dir := t.TempDir()
	built := buildStage(t, dir)
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	files := nodetest.Distroless(ca)
	for _, c := range stage.Copies {
		f, ok := built[c.Src]
		if c.From != "build" || !ok {
			t.Fatalf("the Dockerfile copies %s from %q, which this test does not make", c.Src, c.From)
		}
		f.Path = c.Dest
		if c.Chown != "" {
			uid, gid, _ := strings.Cut(c.Chown, ":")
			f.UID, f.GID = atoi(t, uid), atoi(t, gid)
		}
		files = append(files, f)
	}
	archive := filepath.Join(dir, "acmehub.tar")
	err = nodetest.Image{
		Name: imageRegistry + "/" + imageRepository + ":" + imageTag, Files: files,
		User: stage.User, WorkingDir: stage.WorkingDir, Entrypoint: stage.Entrypoint, Cmd: stage.Cmd, Exposed: stage.ExposedPorts,
	}.WriteArchive(archive)
	if err != nil {
		t.Fatal(err)
	}
	return archive, stage
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("COPY --chown=%s: %v", s, err)
	}
	return n
}

// TestImageIsTheDockerfiles reads the archive back as containerd would and
// compares it with the Dockerfile's final stage: user, working directory,
// entrypoint, command, exposed ports, and every file it copies, at its
// place with its owner.
func TestImageIsTheDockerfiles(t *testing.T) {
	archive, stage := acmehubImage(t)
	blobs := readTar(t, archive)
	var index struct {
		Manifests []struct {
			Digest      string
			Annotations map[string]string
		}
	}
	mustJSON(t, blobs["index.json"], &index)
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["io.containerd.image.name"] != "acmehub.test/acmehub:test" {
		t.Fatalf("index: %+v", index)
	}
	var manifest struct {
		Config struct{ Digest string }
		Layers []struct{ Digest string }
	}
	mustJSON(t, blob(t, blobs, index.Manifests[0].Digest), &manifest)
	var config struct {
		Config struct {
			User, WorkingDir string
			Entrypoint, Cmd  []string
			ExposedPorts     map[string]struct{}
		}
	}
	mustJSON(t, blob(t, blobs, manifest.Config.Digest), &config)
	c := config.Config
	var exposed []string
	for p := range c.ExposedPorts {
		exposed = append(exposed, p)
	}
	slices.Sort(exposed)
	want := slices.Sorted(slices.Values(stage.ExposedPorts))
	if c.User != "65532:65532" || c.WorkingDir != "/var/lib/acmehub" || !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/acmehub"}) ||
		!slices.Equal(c.Cmd, []string{"server", "-c", "/etc/acmehub/config.cfg"}) || !slices.Equal(exposed, want) ||
		!slices.Equal(want, []string{"5353/tcp", "5353/udp", "8080/tcp", "8443/tcp"}) {
		t.Errorf("image config %+v, Dockerfile stage %+v", c, stage)
	}
	if len(manifest.Layers) != 1 {
		t.Fatalf("%d layers", len(manifest.Layers))
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob(t, blobs, manifest.Layers[0].Digest)))
	if err != nil {
		t.Fatal(err)
	}
	layer := map[string]*tar.Header{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		layer["/"+strings.TrimSuffix(h.Name, "/")] = h
	}
	for _, want := range []struct {
		path     string
		dir      bool
		uid, gid int
	}{
		{"/usr/local/bin/acmehub", false, 0, 0},
		{"/var/lib/acmehub", true, 65532, 65532},
		{"/etc/passwd", false, 0, 0},
		{"/etc/ssl/certs/ca-certificates.crt", false, 0, 0},
		{"/tmp", true, 0, 0},
	} {
		h := layer[want.path]
		if h == nil || (h.Typeflag == tar.TypeDir) != want.dir || h.Uid != want.uid || h.Gid != want.gid {
			t.Errorf("%s in the image: %+v; want dir=%v owned by %d:%d", want.path, h, want.dir, want.uid, want.gid)
		}
	}
}

func readTar(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name], _ = io.ReadAll(tr)
	}
}

func blob(t *testing.T, blobs map[string][]byte, digest string) []byte {
	t.Helper()
	b, ok := blobs["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("no blob %s", digest)
	}
	return b
}

func mustJSON(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
}
