// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileError is err about the file at path, which the configuration names
// under key ("[hub] keys_file"), saying where a relative path led.
// Relative paths keep acme-dns's meaning: from the working directory,
// which existing deployments rely on.
func FileError(key, path string, err error) error {
	return fmt.Errorf("%s %s: %w", key, DescribePath(path), err)
}

// DescribePath is path as written and, when it is relative, the absolute
// path it led to and from where.
func DescribePath(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Sprintf("%s (relative to a working directory that cannot be read: %v)", path, err)
	}
	return fmt.Sprintf("%s (%s: relative to the working directory %s)", path, filepath.Join(wd, path), wd)
}
