// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package nodetest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// Stage is what the final stage of a Dockerfile makes of an image: the
// parts a test compares with the image built here.
type Stage struct {
	From       string
	User       string
	WorkingDir string
	Entrypoint []string
	Cmd        []string
	// ExposedPorts are "5353/udp", "8080/tcp", …
	ExposedPorts []string
	// Copies are the final stage's COPY instructions.
	Copies []Copy
}

// Copy is one COPY of the final stage.
type Copy struct {
	From, Src, Dest, Chown string
}

// FinalStage reads the last stage of a Dockerfile: FROM, COPY, WORKDIR,
// USER, EXPOSE, ENTRYPOINT and CMD (exec form only); any other
// instruction there is an error, so that the image built here cannot
// silently drift from it.
func FinalStage(dockerfile []byte) (Stage, error) {
	var st Stage
	lines := instructions(dockerfile)
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	if last < 0 {
		return st, errors.New("no FROM")
	}
	for _, line := range lines[last:] {
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			f := strings.Fields(rest)
			st.From = f[len(f)-1]
			if len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				st.From = f[len(f)-3]
			}
		case "COPY":
			var c Copy
			f := strings.Fields(rest)
			for len(f) > 0 && strings.HasPrefix(f[0], "--") {
				k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
				switch k {
				case "from":
					c.From = v
				case "chown":
					c.Chown = v
				}
				f = f[1:]
			}
			if len(f) != 2 {
				return st, fmt.Errorf("COPY %s: want one source and one destination", rest)
			}
			c.Src, c.Dest = f[0], f[1]
			st.Copies = append(st.Copies, c)
		case "WORKDIR":
			st.WorkingDir = rest
		case "USER":
			st.User = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				st.ExposedPorts = append(st.ExposedPorts, p)
			}
		case "ENTRYPOINT", "CMD":
			var args []string
			if err := json.Unmarshal([]byte(rest), &args); err != nil {
				return st, fmt.Errorf("%s %s: only the exec form (a JSON array) is read: %w", word, rest, err)
			}
			if strings.EqualFold(word, "ENTRYPOINT") {
				st.Entrypoint = args
			} else {
				st.Cmd = args
			}
		default:
			return st, fmt.Errorf("the final stage has %s, which the test image does not reproduce", word)
		}
	}
	return st, nil
}

// instructions are a Dockerfile's instructions, continued lines joined,
// without comments.
func instructions(dockerfile []byte) []string {
	var lines []string
	cont := ""
	sc := bufio.NewScanner(bytes.NewReader(dockerfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		lines = append(lines, cont+line)
		cont = ""
	}
	return lines
}

// File is one file or directory of an image layer.
type File struct {
	Path     string // absolute, in the image
	Mode     int64  // permission bits; a directory when Data is nil and Dir
	Dir      bool
	UID, GID int
	Data     []byte
}

// Image is an image to write as an OCI archive for `ctr images import`.
type Image struct {
	// Name is the reference the image is known by (ghcr.io/acmehub/acmehub:test).
	Name       string
	Files      []File
	User       string
	WorkingDir string
	Entrypoint []string
	Cmd        []string
	Env        []string
	Exposed    []string
}

// WriteArchive writes img as an OCI image layout in a tar file: one
// gzipped layer, its config and manifest, and an index naming it.
func (img Image) WriteArchive(file string) error {
	layer, diffID, err := img.layer()
	if err != nil {
		return err
	}
	exposed := map[string]struct{}{}
	for _, p := range img.Exposed {
		exposed[p] = struct{}{}
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": time.Unix(0, 0).UTC(),
		"config": map[string]any{
			"User": img.User, "WorkingDir": img.WorkingDir, "Entrypoint": img.Entrypoint, "Cmd": img.Cmd,
			"Env": img.Env, "ExposedPorts": exposed,
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": descriptor("application/vnd.oci.image.config.v1+json", config),
		"layers": []any{descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer)},
	})
	md := descriptor("application/vnd.oci.image.manifest.v1+json", manifest)
	md["annotations"] = map[string]string{"io.containerd.image.name": img.Name, "org.opencontainers.image.ref.name": img.Name}
	md["platform"] = map[string]string{"architecture": "amd64", "os": "linux"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{md}})

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	put := func(name string, data []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	put("oci-layout", []byte(`{"imageLayoutVersion": "1.0.0"}`))
	put("index.json", index)
	for _, blob := range [][]byte{layer, config, manifest} {
		put("blobs/sha256/"+strings.TrimPrefix(digest(blob), "sha256:"), blob)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// layer is the image's files as a gzipped tar, and the digest of the tar.
func (img Image) layer() ([]byte, string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	seen := map[string]bool{}
	// Parents first, as root's, unless listed.
	listed := map[string]bool{}
	for _, f := range img.Files {
		listed[path.Clean(f.Path)] = true
	}
	for _, f := range img.Files {
		p := path.Clean(f.Path)
		var parents []string
		for d := path.Dir(p); d != "/" && !seen[d] && !listed[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			seen[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
				return nil, "", err
			}
		}
		seen[p] = true
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: time.Unix(0, 0),
			Uname: strconv.Itoa(f.UID), Gname: strconv.Itoa(f.GID)}
		if f.Dir {
			h.Name += "/"
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), digest(raw.Bytes()), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func descriptor(mediaType string, blob []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digest(blob), "size": len(blob)}
}

// Distroless is the part of gcr.io/distroless/static-debian12:nonroot
// that a static Go program uses: its users, CA certificates, /tmp and the
// nonroot user's home. caBundle is the host's CA certificates.
func Distroless(caBundle []byte) []File {
	return []File{
		{Path: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n")},
		{Path: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: caBundle},
		{Path: "/tmp", Mode: 0o1777, Dir: true},
		{Path: "/home/nonroot", Mode: 0o700, Dir: true, UID: 65532, GID: 65532},
	}
}
