// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package cmd

import (
	"context"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/spf13/cobra"

	"github.com/acmehub/acmehub/hub/dnssec"
	"github.com/acmehub/acmehub/hub/server"
)

func newDNSSECCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dnssec",
		Short: "Make the zone's DNSSEC keys and the DS records its parent publishes",
	}
	cmd.AddCommand(newKeygenCommand(), newDSCommand(), newDNSSECImport(), newDNSSECKeys(), newDNSSECRemove())
	return cmd
}

// keyView is a key as the dnssec commands print it.
type keyView struct {
	Name       string
	Zone       string
	Algorithm  uint8
	Tag        uint16
	Role       string // CSK, KSK or ZSK
	Publish    time.Time
	Activate   time.Time
	Inactive   time.Time
	Delete     time.Time
	SealedWith string
	Imported   time.Time
	// DS is what the parent publishes, for a KSK or CSK.
	DS string `json:",omitempty"`
}

func viewOf(k dnssec.Key, solo bool) keyView {
	v := keyView{Name: k.Base(), Zone: k.Zone(), Algorithm: k.DNSKEY.Algorithm, Tag: k.Tag(), Role: "ZSK",
		Publish: k.Publish, Activate: k.Activate, Inactive: k.Inactive, Delete: k.Delete}
	if k.SEP() {
		v.Role, v.DS = "KSK", k.DS().String()
		if solo {
			v.Role = "CSK"
		}
	}
	return v
}

// keysResult prints keys as a table, or as JSON.
func keysResult(views []keyView) result {
	r := result{Value: views, Header: "KEY\tROLE\tPUBLISH\tACTIVATE\tINACTIVE\tDELETE\tSEALED WITH"}
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, v := range views {
		r.Rows = append(r.Rows, []string{v.Name, v.Role, at(v.Publish), at(v.Activate), at(v.Inactive), at(v.Delete), v.SealedWith})
	}
	return r
}

// dnssecCommand is a dnssec subcommand on the database's keys.
func dnssecCommand(use, short, long string, args cobra.PositionalArgs,
	do func(ctx context.Context, keys *server.DNSSECKeys, args []string) (result, error)) *cobra.Command {
	var f adminFlags
	cmd := &cobra.Command{Use: use, Short: short, Long: long, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
		if err := f.output.check(); err != nil {
			return err
		}
		cfg, err := f.config(cmd)
		if err != nil {
			return err
		}
		keys, err := server.OpenDNSSECKeys(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer keys.Close()
		r, err := do(cmd.Context(), keys, args)
		if err != nil {
			return err
		}
		return f.output.print(cmd.OutOrStdout(), r)
	}}
	f.register(cmd.Flags())
	return cmd
}

const dnssecDatabaseHelp = `The database is the server's (-c config.cfg, or --db-engine and
--db-connection); private keys are sealed with the hub's keys ([hub]
keys_file, $ACMEHUB_HUB_KEYS, or --keys-file), as provider credentials are.
A server with [dnssec] database = true reads the keys at start-up: restart
every replica after a change.`

func newDNSSECImport() *cobra.Command {
	return dnssecCommand("import KEYFILE...", "Put keys (BIND's files) into the database, for every replica to sign with",
		`Read each key from its two files (K<zone>+<algorithm>+<tag>.key and .private,
named by either or by their path without extension) and put it into the
database, its private half sealed; then list the database's keys. A key
already there is replaced: import it again after dnssec-settime changed its
times. Every key is read before any is written; a key of another zone than
[general] domain is refused.

`+dnssecDatabaseHelp, cobra.MinimumNArgs(1),
		func(ctx context.Context, keys *server.DNSSECKeys, args []string) (result, error) {
			if err := keys.Import(ctx, args, time.Now()); err != nil {
				return result{}, err
			}
			return listKeys(ctx, keys)
		})
}

// listKeys lists the database's keys. When every key has the SEP flag,
// each signs everything: a CSK, not a KSK.
func listKeys(ctx context.Context, keys *server.DNSSECKeys) (result, error) {
	stored, err := keys.Keys(ctx)
	if err != nil {
		return result{}, err
	}
	seps := 0
	for _, k := range stored {
		if k.SEP() {
			seps++
		}
	}
	views := make([]keyView, len(stored))
	for i, k := range stored {
		views[i] = viewOf(k.Key, seps == len(stored))
		views[i].SealedWith, views[i].Imported = k.SealedWith, k.Imported
	}
	return keysResult(views), nil
}

func newDNSSECKeys() *cobra.Command {
	return dnssecCommand("keys", "List the keys in the database, with their times and the DS of each KSK or CSK",
		`List the zone's keys in the database: role, BIND times, the hub key that
sealed each, and (-o json) the DS record for each KSK or CSK.

`+dnssecDatabaseHelp,
		cobra.NoArgs,
		func(ctx context.Context, keys *server.DNSSECKeys, _ []string) (result, error) {
			return listKeys(ctx, keys)
		})
}

func newDNSSECRemove() *cobra.Command {
	return dnssecCommand("remove KEYNAME", "Remove a key from the database (K<zone>+<algorithm>+<tag>)",
		`Remove the key BIND would name K<zone>+<algorithm>+<tag> from the database:
the last step of a rollover, once its Delete time has passed.

`+dnssecDatabaseHelp,
		cobra.ExactArgs(1),
		func(ctx context.Context, keys *server.DNSSECKeys, args []string) (result, error) {
			if err := keys.Remove(ctx, args[0]); err != nil {
				return result{}, err
			}
			return result{Value: map[string]string{"removed": args[0]}, Text: "removed " + args[0]}, nil
		})
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
