// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

// Package certifyapi holds the wire types of Certify Certificate Manager's
// "Certify Managed Challenge API": what the hub's Certify front door
// serves and the webhook's solver "hub" sends. Requests are JSON with
// PascalCase names, the API token in the body; requestbegin starts an
// operation whose status is polled without credentials.
package certifyapi

import "time"

// Base is the path of the API.
const Base = "/api/v1/managedchallenge"

// Request is a ManagedChallengeRequest. encoding/json writes its names as
// they are and matches them case-insensitively, as the .NET client does.
type Request struct {
	ChallengeType string
	Identifier    string
	ResponseKey   string
	ResponseValue string
	AuthKey       string
	AuthSecret    string
}

// Result is an ActionResult: the answer of request and cleanup, and of a
// finished operation.
type Result struct {
	IsSuccess bool   `json:"isSuccess"`
	Message   string `json:"message"`
}

// The states of an Operation.
const (
	Pending   = "pending"
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Operation is a ManagedChallengeOperation, as a .NET hub writes it.
type Operation struct {
	ID              string     `json:"id"`
	Status          string     `json:"status"`
	Result          *Result    `json:"result,omitempty"`
	DateCreated     time.Time  `json:"dateCreated"`
	DateLastUpdated time.Time  `json:"dateLastUpdated"`
	DateStarted     *time.Time `json:"dateStarted,omitempty"`
	DateCompleted   *time.Time `json:"dateCompleted,omitempty"`
}
