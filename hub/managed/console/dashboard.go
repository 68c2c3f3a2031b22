// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"fmt"
	"net/http"
	"time"

	"github.com/acmehub/acmehub/hub/store"
)

type bar struct {
	X, Y, H, FY, FH int
	Label           string
}

type dashboardData struct {
	Records            []store.HubRecord
	RecordCount        int
	Bars               []bar
	Requests, Failures int
	Unused, Expiring   []store.Token
}

func (h *Handler) dashboard(w http.ResponseWriter, r *http.Request, rq request) {
	ctx, now := r.Context(), h.o.Now()
	var d dashboardData
	records, err := h.svc.Records(ctx)
	if err != nil {
		h.fail(w, err)
		return
	}
	d.RecordCount, d.Records = len(records), records[:min(len(records), 20)]
	since := now.Truncate(time.Hour).Add(-(chartHours - 1) * time.Hour)
	buckets, err := h.svc.Activity(ctx, since, time.Hour, chartHours)
	if err != nil {
		h.fail(w, err)
		return
	}
	peak := 1
	for _, b := range buckets {
		peak = max(peak, b.Requests)
		d.Requests, d.Failures = d.Requests+b.Requests, d.Failures+b.Failures
	}
	for i, b := range buckets {
		height, failed := b.Requests*chartHeight/peak, b.Failures*chartHeight/peak
		d.Bars = append(d.Bars, bar{X: i * barWidth, Y: chartHeight + 5 - height, H: height, FY: chartHeight + 5 - failed, FH: failed,
			Label: fmt.Sprintf("%s: %d requests, %d failed", b.Start.UTC().Format("15:04"), b.Requests, b.Failures)})
	}
	tokens, err := h.svc.Tokens(ctx, "")
	if err != nil {
		h.fail(w, err)
		return
	}
	for _, t := range tokens {
		if !t.Revoked.IsZero() || !t.Expires.IsZero() && !now.Before(t.Expires) {
			continue
		}
		lastUse := t.LastUsed
		if lastUse.IsZero() {
			lastUse = t.Created
		}
		if now.Sub(lastUse) > 90*24*time.Hour {
			d.Unused = append(d.Unused, t)
		}
		if !t.Expires.IsZero() && t.Expires.Sub(now) < 14*24*time.Hour {
			d.Expiring = append(d.Expiring, t)
		}
	}
	p := h.page(rq, "Dashboard", "dashboard", d)
	h.render(w, http.StatusOK, "dashboard", p)
}

// Chart geometry: 24 hourly bars in a 240×60 view box.
const (
	chartHours  = 24
	barWidth    = 10
	chartHeight = 50
)
