// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Command seed fills a SQLite database with many accounts, each holding one
// TXT value, for the DNS benchmark, and writes their names for dnsperf. The
// accounts' password hashes are placeholders: they exist to be answered, not
// to be updated.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/google/uuid"
	_ "modernc.org/sqlite"

	"github.com/acmehub/acmehub/hub/store"
)

func main() {
	db := flag.String("db", "", "SQLite database to create")
	n := flag.Int("accounts", 100000, "accounts to create")
	domain := flag.String("domain", "auth.example.org", "zone")
	queries := flag.String("queries", "", "dnsperf query file to write")
	sample := flag.Int("sample", 10000, "distinct names in the query file")
	flag.Parse()

	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, *db, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	st.Close()
	conn, err := sql.Open("sqlite", *db+"?_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	names := make([]string, 0, *n)
	for i := range *n {
		sub := uuid.NewString()
		if _, err := tx.Exec(`INSERT INTO records (username, password, subdomain, allowfrom) VALUES (?, ?, ?, '[]')`,
			uuid.NewString(), fmt.Sprintf("$2a$10$placeholder%044d", i), sub); err != nil {
			log.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO txt (subdomain, value, lastupdate, seq) VALUES (?, ?, 0, 1), (?, '', 0, 0)`,
			sub, fmt.Sprintf("%043d", i), sub); err != nil {
			log.Fatal(err)
		}
		names = append(names, sub+"."+*domain)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
	if *queries != "" {
		var b strings.Builder
		for range min(*sample, len(names)) {
			fmt.Fprintf(&b, "%s TXT\n", names[rand.IntN(len(names))]) //nolint:gosec // G404: a sample of names, no secret
		}
		if err := os.WriteFile(*queries, []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
