// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package fakes

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Route53Host is the host of Amazon Route 53's API.
const Route53Host = "route53.amazonaws.com"

// FakeRoute53 is Amazon Route 53's API (2013-04-01) as the AWS SDK for Go
// uses it for TXT and CNAME records: hosted zones found by name, record
// sets listed in order of name and type from a name (and type), and change
// batches applied atomically: a DELETE must name the record set exactly as
// it is, a CREATE one that is not there, a CNAME may share its name with
// no other set, or the whole batch fails with InvalidChangeBatch, as
// Route 53 does. Requests must be signed (SigV4, service route53) with its access
// key; the calls are kept for the test.
type FakeRoute53 struct {
	t         testing.TB
	accessKey string

	callLog // "METHOD path?query"
	mu      sync.Mutex
	zones   map[string]string      // name with the dot → ID
	sets    map[string]*route53Set // by name with the dot, "/", type
	changes int
	// BeforeChange, when set, runs once before the next change batch is
	// applied (with the fake's lock held): another writer's change.
	BeforeChange func()
}

type route53Set struct {
	zone, name, typ string
	ttl             int64
	values          []string // as Route 53 holds them: quoted
}

// NewFakeRoute53 is an account holding zones, whose requests are signed
// with accessKey.
func NewFakeRoute53(t testing.TB, accessKey string, zones ...string) *FakeRoute53 {
	f := &FakeRoute53{t: t, accessKey: accessKey, zones: map[string]string{}, sets: map[string]*route53Set{}}
	for i, z := range zones {
		f.zones[z+"."] = fmt.Sprintf("Z%08dEXAMPLE", i+1)
	}
	return f
}

// TXT are the values of the TXT record set at name (without the trailing
// dot), unquoted.
func (f *FakeRoute53) TXT(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if s := f.sets[name+"./TXT"]; s != nil {
		for _, v := range s.values {
			out = append(out, strings.Trim(v, `"`))
		}
	}
	return out
}

// CNAME is the target of the CNAME at name (without the trailing dot), ""
// when none.
func (f *FakeRoute53) CNAME(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sets[name+"./CNAME"]; s != nil && len(s.values) == 1 {
		return s.values[0]
	}
	return ""
}

// Put sets the TXT values at name, as another client of the zone would.
func (f *FakeRoute53) Put(zone, name string, values ...string) {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = `"` + v + `"`
	}
	f.sets[name+"./TXT"] = &route53Set{zone: f.zones[zone+"."], name: name + ".", typ: "TXT", ttl: 60, values: quoted}
}

// ProxyEnv is the environment that sends a child process's requests for
// Route 53 to the fake (see ProxyHTTPS and AWSEnv) until the test ends.
func (f *FakeRoute53) ProxyEnv(t testing.TB) []string {
	t.Helper()
	return AWSEnv(proxyEnv(t, f, Route53Host))
}

// AWSEnv is a ProxyHTTPS environment for the AWS SDK: the test CA also as
// AWS_CA_BUNDLE, which, when the machine sets it, the SDK trusts instead
// of the system roots; and no shared configuration nor instance metadata.
func AWSEnv(proxyEnv []string) []string {
	env := slices.Clone(proxyEnv)
	for _, kv := range proxyEnv {
		if ca, ok := strings.CutPrefix(kv, "SSL_CERT_FILE="); ok {
			env = append(env, "AWS_CA_BUNDLE="+ca)
		}
	}
	return append(env, "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
}

const route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

type route53RRSet struct {
	Name            string `xml:"Name"`
	Type            string `xml:"Type"`
	TTL             int64  `xml:"TTL"`
	ResourceRecords []struct {
		Value string `xml:"Value"`
	} `xml:"ResourceRecords>ResourceRecord"`
}

// ServeHTTP answers one API call.
func (f *FakeRoute53) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status, body := f.handle(r)
	f.record(r.Method + " " + r.URL.RequestURI())
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", "00000000-fake-route53")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>`+"\n%s", body)
}

func route53Error(code, message string) string {
	return fmt.Sprintf(`<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-fake-route53</RequestId></ErrorResponse>`,
		route53NS, code, xmlText(message))
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (f *FakeRoute53) handle(r *http.Request) (int, string) {
	refuse := func(status int, format string, a ...any) (int, string) {
		msg := fmt.Sprintf(format, a...)
		f.t.Errorf("fake Route 53: %s %s: %s", r.Method, r.URL, msg)
		return status, route53Error("InvalidInput", msg)
	}
	auth := r.Header.Get("Authorization")
	credential, _, _ := strings.Cut(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 Credential="), ",")
	scope := strings.Split(credential, "/")
	switch {
	case !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || len(scope) != 5 || scope[3] != "route53" || scope[4] != "aws4_request" ||
		!strings.Contains(auth, "Signature=") || r.Header.Get("X-Amz-Date") == "":
		return refuse(http.StatusForbidden, "not signed with SigV4 for route53: %q", auth)
	case scope[0] != f.accessKey:
		return http.StatusForbidden, route53Error("InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/2013-04-01/")
	if !ok {
		return refuse(http.StatusNotFound, "no such path")
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	if path == "hostedzonesbyname" && r.Method == http.MethodGet {
		var zones strings.Builder
		for _, n := range slices.Sorted(maps.Keys(f.zones)) {
			if q.Get("dnsname") == "" || strings.TrimSuffix(n, ".") >= strings.TrimSuffix(q.Get("dnsname"), ".") {
				fmt.Fprintf(&zones, `<HostedZone><Id>/hostedzone/%s</Id><Name>%s</Name><CallerReference>fake</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone>`, f.zones[n], n)
			}
		}
		return http.StatusOK, fmt.Sprintf(`<ListHostedZonesByNameResponse xmlns="%s"><HostedZones>%s</HostedZones><DNSName>%s</DNSName><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesByNameResponse>`,
			route53NS, zones.String(), xmlText(q.Get("dnsname")))
	}
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(parts) != 3 || parts[0] != "hostedzone" || parts[2] != "rrset" {
		return refuse(http.StatusNotFound, "no such path")
	}
	zone := parts[1]
	if !slices.Contains(slices.Collect(maps.Values(f.zones)), zone) {
		return http.StatusNotFound, route53Error("NoSuchHostedZone", "No hosted zone found with ID: "+zone)
	}
	switch r.Method {
	case http.MethodGet:
		return f.list(zone, q.Get("name"), q.Get("type"), q.Get("maxitems"))
	case http.MethodPost:
		var req route53ChangeRequest
		if err := xml.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Changes) == 0 {
			return refuse(http.StatusBadRequest, "a change batch that does not read: %v", err)
		}
		return f.change(zone, req, refuse)
	}
	return refuse(http.StatusMethodNotAllowed, "not a call the provider makes")
}

// list answers ListResourceRecordSets: the zone's record sets in order of
// name and type, from the first at or after name (and typ).
func (f *FakeRoute53) list(zone, name, typ, maxItems string) (int, string) {
	var sets []*route53Set
	name = strings.ToLower(name)
	for _, s := range f.sets {
		if s.zone == zone && (name == "" || s.name > name || s.name == name && s.typ >= typ) {
			sets = append(sets, s)
		}
	}
	slices.SortFunc(sets, func(a, b *route53Set) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.typ, b.typ))
	})
	limit := 100
	fmt.Sscan(maxItems, &limit)
	truncated := len(sets) > limit
	sets = sets[:min(len(sets), limit)]
	var b strings.Builder
	for _, s := range sets {
		fmt.Fprintf(&b, `<ResourceRecordSet><Name>%s</Name><Type>%s</Type><TTL>%d</TTL><ResourceRecords>`, s.name, s.typ, s.ttl)
		for _, v := range s.values {
			fmt.Fprintf(&b, `<ResourceRecord><Value>%s</Value></ResourceRecord>`, xmlText(v))
		}
		b.WriteString(`</ResourceRecords></ResourceRecordSet>`)
	}
	return http.StatusOK, fmt.Sprintf(`<ListResourceRecordSetsResponse xmlns="%s"><ResourceRecordSets>%s</ResourceRecordSets><IsTruncated>%v</IsTruncated><MaxItems>%d</MaxItems></ListResourceRecordSetsResponse>`,
		route53NS, b.String(), truncated, limit)
}

// conflict is Route 53's refusal of a set of typ at name beside the sets
// already there: a CNAME shares its name with no other set.
func (f *FakeRoute53) conflict(sets map[string]*route53Set, zone, name, typ string) string {
	for _, s := range sets {
		switch {
		case s.zone != zone || s.name != name || s.typ == typ:
		case typ == "CNAME":
			return fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", name, zone)
		case s.typ == "CNAME":
			return fmt.Sprintf("RRSet of type %s with DNS name %s is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone %s", typ, name, zone)
		}
	}
	return ""
}

type route53ChangeRequest struct {
	XMLName xml.Name `xml:"ChangeResourceRecordSetsRequest"`
	Changes []struct {
		Action string       `xml:"Action"`
		Set    route53RRSet `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

// change applies a change batch to zone, whole or not at all; f.mu is held.
func (f *FakeRoute53) change(zone string, req route53ChangeRequest, refuse func(int, string, ...any) (int, string)) (int, string) {
	if f.BeforeChange != nil {
		hook := f.BeforeChange
		f.BeforeChange = nil
		hook()
	}
	next := maps.Clone(f.sets)
	var problems []string
	for _, c := range req.Changes {
		s := c.Set
		name := strings.ToLower(s.Name)
		if !strings.HasSuffix(name, ".") {
			name += "."
		}
		var values []string
		for _, rr := range s.ResourceRecords {
			values = append(values, rr.Value)
		}
		key := name + "/" + s.Type
		cur := next[key]
		switch c.Action {
		case "DELETE":
			if cur == nil || cur.zone != zone || cur.ttl != s.TTL || !slices.Equal(slices.Sorted(slices.Values(cur.values)), slices.Sorted(slices.Values(values))) {
				problems = append(problems, fmt.Sprintf("Tried to delete resource record set [name='%s', type='%s'] but the values provided do not match the current values", name, s.Type))
				continue
			}
			delete(next, key)
		case "CREATE", "UPSERT":
			if c.Action == "CREATE" && cur != nil {
				problems = append(problems, fmt.Sprintf("Tried to create resource record set [name='%s', type='%s'] but it already exists", name, s.Type))
				continue
			}
			if s.Type != "TXT" && s.Type != "CNAME" || len(values) == 0 || s.Type == "CNAME" && len(values) != 1 {
				return refuse(http.StatusBadRequest, "a record set the provider does not write: %+v", s)
			}
			if conflict := f.conflict(next, zone, name, s.Type); conflict != "" {
				problems = append(problems, conflict)
				continue
			}
			next[key] = &route53Set{zone: zone, name: name, typ: s.Type, ttl: s.TTL, values: values}
		default:
			return refuse(http.StatusBadRequest, "action %q", c.Action)
		}
	}
	if len(problems) > 0 {
		var msgs strings.Builder
		for _, p := range problems {
			fmt.Fprintf(&msgs, "<Message>%s</Message>", xmlText(p))
		}
		return http.StatusBadRequest, fmt.Sprintf(`<InvalidChangeBatch xmlns="%s"><Messages>%s</Messages><RequestId>00000000-fake-route53</RequestId></InvalidChangeBatch>`,
			route53NS, msgs.String())
	}
	f.sets = next
	f.changes++
	return http.StatusOK, fmt.Sprintf(`<ChangeResourceRecordSetsResponse xmlns="%s"><ChangeInfo><Id>/change/C%d</Id><Status>INSYNC</Status><SubmittedAt>2026-01-01T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`,
		route53NS, f.changes)
}
