// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/acmehub/acmehub/hub/config"
)

// newLogger builds the structured logger [logconfig] describes. The returned
// closer syncs and closes the log file, if any, reporting a failure on
// stderr: the log can no longer.
func newLogger(c config.Log, stdout io.Writer) (*slog.Logger, func(), error) {
	var level slog.Level
	switch strings.ToLower(c.Level) {
	case "debug":
		level = slog.LevelDebug
	case "warning", "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	out, closer := stdout, func() {}
	if c.Type == "file" {
		f, err := os.OpenFile(c.File, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, config.FileError("[logconfig] logfile", c.File, err)
		}
		out, closer = f, func() {
			if err := errors.Join(f.Sync(), f.Close()); err != nil {
				fmt.Fprintln(os.Stderr, "acmehub: closing the log file:", err)
			}
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewJSONHandler(out, opts)
	if c.Format == "text" {
		h = slog.NewTextHandler(out, opts)
	}
	return slog.New(h), closer, nil
}
