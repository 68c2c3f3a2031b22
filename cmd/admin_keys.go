// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/managed"
)

func newAdminKeygen() *cobra.Command {
	var id, out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make a new key for [hub] keys_file: printed, or written first into --out (the newest first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == "" {
				id = time.Now().UTC().Format("20060102")
			}
			line := managed.NewKeyLine(id)
			if out == "" {
				fmt.Fprintln(cmd.OutOrStdout(), line)
				return nil
			}
			if err := prependKey(out, line); err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "key %s written first in %s (mode 0600)\n", id, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "key ID (default: today's date)")
	cmd.Flags().StringVar(&out, "out", "", "write the key into this file, readable by its owner alone, before the keys it holds")
	return cmd
}

// prependKey writes line before the keys file's lines, atomically, with
// mode 0600: the newest key seals, the older ones still open.
func prependKey(path, line string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // after the rename there is nothing left to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(line + "\n" + string(old)); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
