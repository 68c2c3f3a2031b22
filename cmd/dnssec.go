// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/dnssec"
)

func newDNSSECCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dnssec",
		Short: "Make the zone's DNSSEC keys and the DS records its parent publishes",
	}
	cmd.AddCommand(newKeygenCommand(), newDSCommand())
	return cmd
}

func newKeygenCommand() *cobra.Command {
	var (
		algorithm  uint8
		role, dir  string
		activateIn time.Duration
	)
	cmd := &cobra.Command{
		Use:   "keygen ZONE",
		Short: "Write a key for ZONE in BIND's format, and print its path for [dnssec] keys",
		Long: `Write a key for ZONE as K<zone>+<algorithm>+<tag>.key and .private into --dir
(the private file readable by its owner only), in the format dnssec-keygen
writes, and print the path without extension for [dnssec] keys.

--role csk (the default) makes one key that signs everything; ksk and zsk
make the pair: the KSK signs the DNSKEY set and is what the parent's DS
points at, the ZSK signs the rest.

The key is published now and signs from now, or from --activate-in later
(a ZSK pre-published for a rollover). Its times are BIND's: dnssec-settime
changes them (-I inactive, -D delete), and the server follows them without
a restart.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sep bool
			switch role {
			case "csk", "ksk":
				sep = true
			case "zsk":
			default:
				return fmt.Errorf("--role %q: want csk, ksk or zsk", role)
			}
			k, err := dnssec.Generate(args[0], algorithm, sep)
			if err != nil {
				return err
			}
			now := time.Now().Truncate(time.Second)
			k.Publish, k.Activate = now, now.Add(activateIn)
			base, err := k.Write(dir, now)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), base)
			return nil
		},
	}
	cmd.Flags().Uint8VarP(&algorithm, "algorithm", "a", 13, "13 (ECDSAP256SHA256) or 15 (ED25519)")
	cmd.Flags().StringVar(&role, "role", "csk", "csk, ksk or zsk")
	cmd.Flags().StringVar(&dir, "dir", ".", "the directory the key files go into")
	cmd.Flags().DurationVar(&activateIn, "activate-in", 0, "publish the key now, sign with it from this long after")
	return cmd
}

func newDSCommand() *cobra.Command {
	var zone string
	cmd := &cobra.Command{
		Use:   "ds KEYFILE...",
		Short: "Print the DS record (SHA-256) the parent zone publishes for each key",
		Long: `Print, for each key file (K<zone>+<algorithm>+<tag>.key, or its path
without extension), the DS record with a SHA-256 digest (digest type 2) that
the parent zone publishes to delegate the signed zone. Keys without the SEP
flag (ZSKs) are refused: the parent's DS points at the KSK or CSK.

--zone prints it for a name delegated to the hub's DNS (provider self),
_acme-challenge.<name>, which the server signs with the same keys: its
parent publishes this DS beside the NS records of the delegation.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, path := range args {
				k, err := dnssec.LoadPublic(path)
				if err != nil {
					return err
				}
				key := dnssec.Key{DNSKEY: k}
				if !key.SEP() {
					return fmt.Errorf("key %s is a ZSK (flags %d): the parent's DS points at the KSK or CSK", path, k.Flags)
				}
				ds := key.DS()
				if _, ok := dns.IsDomainName(zone); zone != "" && !ok {
					return fmt.Errorf("--zone %q is not a domain name", zone)
				}
				if zone != "" {
					ds = key.DSFor(zone)
				}
				fmt.Fprintln(cmd.OutOrStdout(), ds)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&zone, "zone", "", "the zone the DS is for: a delegated _acme-challenge name (default: the key's zone)")
	return cmd
}
