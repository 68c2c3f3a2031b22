// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package store

import (
	"context"
	"database/sql/driver"
	"errors"
)

// The SQLite driver parses the text of every Query and Exec anew, which is
// most of what a small query costs. Its connections here keep each
// statement they prepared, by text, and run it again: parsed once per
// connection. (PostgreSQL's driver keeps its statements itself.)

// keptStatements bounds the statements a connection keeps; statements past
// it (list pages with unusual filters) are parsed each time.
const keptStatements = 128

// keepingConnector opens connections of drv that keep their statements.
type keepingConnector struct {
	drv driver.Driver
	dsn string
}

func (c keepingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	for _, ok := range []bool{implements[driver.ConnBeginTx](conn), implements[driver.ConnPrepareContext](conn),
		implements[driver.ExecerContext](conn), implements[driver.QueryerContext](conn)} {
		if !ok {
			return nil, errors.Join(errors.New("sqlite driver connection lacks a context method"), conn.Close())
		}
	}
	return &keepingConn{Conn: conn, stmts: map[string]*keptStmt{}}, nil
}

func (c keepingConnector) Driver() driver.Driver { return c.drv }

func implements[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

// keepingConn is a driver connection keeping its prepared statements.
// database/sql uses a connection from one goroutine at a time.
type keepingConn struct {
	driver.Conn
	stmts map[string]*keptStmt
}

type keptStmt struct {
	stmt driver.Stmt
	// open is set while rows of the statement are being read: running it
	// again then would reset them, so another runs unkept.
	open bool
}

// kept returns query's statement, preparing it on first use; nil when it
// cannot be kept (in use, or too many kept).
func (c *keepingConn) kept(ctx context.Context, query string) (*keptStmt, error) {
	if s, ok := c.stmts[query]; ok {
		if s.open {
			return nil, nil
		}
		return s, nil
	}
	if len(c.stmts) >= keptStatements {
		return nil, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &keptStmt{stmt: st}
	c.stmts[query] = s
	return s, nil
}

func (c *keepingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, err := c.kept(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
	}
	return s.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *keepingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, err := c.kept(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.open = true
	return keptRows{rows, s}, nil
}

func (c *keepingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *keepingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *keepingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession and IsValid pass the driver's verdicts on: a connection the
// driver no longer trusts is dropped with its statements.
func (c *keepingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *keepingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *keepingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.stmt.Close())
	}
	clear(c.stmts)
	return errors.Join(append(errs, c.Conn.Close())...)
}

// keptRows frees its statement for the next run once closed.
type keptRows struct {
	driver.Rows
	s *keptStmt
}

func (r keptRows) Close() error {
	r.s.open = false
	return r.Rows.Close()
}
