// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

//go:build e2e

package e2e_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/acmehub/acmehub/hub/dnsclient"
	"github.com/acmehub/acmehub/internal/testutil"
	"github.com/acmehub/acmehub/internal/testutil/testdeps"
)

// chromium is the browser the console test drives: $ACMEHUB_TEST_CHROMIUM,
// or Debian's.
func chromium(t *testing.T) string {
	path := os.Getenv("ACMEHUB_TEST_CHROMIUM")
	if path == "" {
		return testdeps.Program(t, "chromium")
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no Chromium at $ACMEHUB_TEST_CHROMIUM=%s: %v", path, err)
	}
	return path
}

// artifacts is where the test leaves its screenshots: $ACMEHUB_TEST_ARTIFACTS,
// or _artifacts/console in the checkout.
func artifacts(t *testing.T) string {
	dir := os.Getenv("ACMEHUB_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("_artifacts", "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browserSession is Chromium on the hub's console, with what the test's
// phases share.
type browserSession struct {
	t    *summary
	ctx  context.Context
	base string // https://<the hub>
	dir  string // where screenshots go
	axe  string // axe-core's script

	mu sync.Mutex
	// logged are the errors and warnings the pages gave, refused are the
	// paths the test expects an error status from.
	logged  []string
	refused map[string]bool
}

// TestE2EConsoleInABrowser: in headless Chromium, an administrator signs in
// to the hub console with an admin token, adds a managed challenge config,
// a principal and a token, copies the token's secret with the copy button,
// finds the secret gone when going Back to its page, and sees the request
// a real httpreq client then makes with it in the audit log; a form posted
// from another origin of the same host is refused. Each page is
// saved as a screenshot and checked for a rendered layout, for axe-core's
// serious and critical accessibility violations, and for errors in the
// browser's console; every page also at a phone's width.

func TestE2EConsoleInABrowser(tt *testing.T) {
	t := summarise(tt)
	h := testutil.NewHubSetup(t.T, testutil.HubOptions{TLS: true})
	adminID, adminSecret := h.TokenFor("managed-challenge-admin")
	hub := h.Server()
	b := openBrowser(t, "https://"+hub.Hub)
	b.signIn(adminID, adminSecret)
	b.addConfig()
	clientID, secret := b.createToken()
	b.backToTheSecret(secret)
	b.useToken(hub, clientID, secret)
	b.findInAudit(clientID, secret)
	b.refusal()
	b.anotherOrigin()
	b.phone()
	b.quiet()
}

// openBrowser starts headless Chromium, stopped when the test ends.
func openBrowser(t *summary, base string) *browserSession {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t.T)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.IgnoreCertErrors, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelTimeout)
	axe, err := os.ReadFile(os.Getenv("TEST_ASSET_AXE"))
	if err != nil {
		t.Fatalf("axe-core at $TEST_ASSET_AXE (run `make test-e2e`): %v", err)
	}
	b := &browserSession{t: t, ctx: ctx, base: base, dir: artifacts(t.T), axe: string(axe), refused: map[string]bool{}}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		t.Fatal(err)
	}
	return b
}

// listen keeps what the pages report as errors or warnings: an invalid
// attribute, a resource that is not there, a script's exception.
func (b *browserSession) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError && e.Level != cdplog.EntryLevelWarning {
			return
		}
		b.mu.Lock()
		path, _, _ := strings.Cut(strings.TrimPrefix(e.URL, b.base), "?")
		expected := e.Source == cdplog.EntrySourceNetwork && b.refused[path]
		b.mu.Unlock()
		if expected {
			return
		}
		msg = fmt.Sprintf("%s (%s) %s %s", e.Level, e.Source, e.Text, e.URL)
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("exception: %s at %s:%d", d.Text, d.URL, d.LineNumber+1)
		if d.Exception != nil {
			msg += ": " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
			return
		}
		var args []string
		for _, a := range ev.Args {
			args = append(args, string(a.Value)+a.Description)
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	default:
		return
	}
	b.mu.Lock()
	b.logged = append(b.logged, msg)
	b.mu.Unlock()
}

// expectRefusal tells the listener that path (its query aside; a URL of
// another site) answers an error status on purpose.
func (b *browserSession) expectRefusal(path string) {
	b.mu.Lock()
	b.refused[path] = true
	b.mu.Unlock()
}

// quiet checks that no page logged an error or a warning.
func (b *browserSession) quiet() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, msg := range b.logged {
		b.t.Errorf("the browser's console: %s", msg)
	}
}

// axeRun runs axe-core on the page, with the WCAG 2.5.3 check (a control's
// accessible name contains its visible label) that axe counts as
// experimental, and returns the serious and critical violations.
const axeRun = `axe.run(document, {rules: {"label-content-name-mismatch": {enabled: true}}}).then(r => r.violations
	.filter(v => v.impact === "serious" || v.impact === "critical")
	.map(v => v.impact + " " + v.id + ": " + v.help + " at " + v.nodes.map(n => n.target.join(" ")).join(", ")))`

// accessible checks the page with axe-core.
func (b *browserSession) accessible(name string) {
	b.t.Helper()
	violations, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](b.axe+";\n"+axeRun,
		func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		b.fail("running axe-core on "+name, err)
	}
	for _, v := range violations {
		b.t.Errorf("page %s: %s", name, v)
	}
}

// shot saves a screenshot of the page and checks it shows a laid-out page.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if err := rendered(buf); err != nil {
		b.t.Errorf("screenshot %s: %v", path, err)
	}
	b.accessible(name)
}

// fail ends the test, leaving the page it stopped on in the artifacts.
func (b *browserSession) fail(what string, err error) {
	b.t.Helper()
	page, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	path := filepath.Join(b.dir, "failure.html")
	os.WriteFile(path, []byte(page), 0o644)
	b.t.Fatalf("%s: %v (the page is in %s)", what, err, path)
}

func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

// load runs steps that end in a navigation (a click on a link, a form's
// submission) and returns once the new page has loaded, so that what
// follows never reads, or waits on, the page being left.
func (b *browserSession) load(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.fail(what, err)
	}
	if resp.Status != http.StatusOK {
		b.fail(what, fmt.Errorf("%s answered %d %s", resp.URL, resp.Status, resp.StatusText))
	}
}

func (b *browserSession) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("reading "+sel, err)
	}
	return s
}

func (b *browserSession) value(id string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		b.fail("reading #"+id, err)
	}
	return s
}

func (b *browserSession) heading(want string) {
	b.t.Helper()
	if got := b.text("h1"); got != want {
		b.t.Fatalf("the page's heading is %q, want %q", got, want)
	}
}

// signIn signs in to the console with an admin token.
func (b *browserSession) signIn(adminID, adminSecret string) {
	b.do("the sign-in page", chromedp.Navigate(b.base+"/console/"), chromedp.WaitVisible(chromedp.ID("client_id")))
	b.heading("Sign in")
	b.shot("signin")
	b.do("filling in the sign-in form", chromedp.SendKeys(chromedp.ID("client_id"), adminID), chromedp.SendKeys(chromedp.ID("secret"), adminSecret))
	b.load("signing in", chromedp.Submit(chromedp.ID("secret")))
	b.do("the dashboard", chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	b.heading("Dashboard")
	b.shot("dashboard")

}

// addConfig adds a managed challenge config for example.com, answered by
// the hub's DNS.
func (b *browserSession) addConfig() {
	b.load("the configs page", chromedp.Click(chromedp.CSS(`nav a[href="/console/configs"]`)))
	b.load("the new config form", chromedp.Click(chromedp.CSS(`a[href="/console/configs/new"]`)))
	b.shot("config-form")
	// The browser checks the ID's pattern before the form goes.
	b.do("typing a bad ID", chromedp.SendKeys(chromedp.ID("id"), "bad id!"))
	mismatch, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.getElementById("id").validity.patternMismatch`))
	if err != nil || !mismatch {
		b.t.Errorf("the config form's ID field accepts %q (pattern %v)", "bad id!", err)
	}
	b.do("clearing the ID", chromedp.Evaluate[chromedp.Void](`document.getElementById("id").value = ""`))
	// The form shows the selected provider's own credential fields.
	for _, provider := range []string{"rfc2136", "self"} {
		shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
			const select = document.getElementById("provider");
			select.value = "`+provider+`";
			select.dispatchEvent(new Event("change", {bubbles: true}));
			return Array.from(document.querySelectorAll("fieldset.credentials")).filter(f => !f.hidden && !f.disabled).map(f => f.dataset.provider);
		})()`))
		if err != nil || !slices.Equal(shown, []string{provider}) {
			b.t.Errorf("with provider %s selected, the form shows the credentials of %q (%v)", provider, shown, err)
		}
		if provider == "rfc2136" {
			b.shot("config-form-rfc2136")
		}
	}
	b.do("filling in the config form",
		chromedp.SendKeys(chromedp.ID("id"), "self-example"), chromedp.SendKeys(chromedp.ID("title"), "example.com, delegated to the hub"),
		chromedp.SendKeys(chromedp.ID("zone"), "example.com"),
		chromedp.SendKeys(chromedp.ID("rules"), "example.com\n.example.com"))
	b.load("adding the config", chromedp.Submit(chromedp.ID("zone")))
	b.do("the config's notice", chromedp.WaitVisible(chromedp.CSS("p.notice")))
	b.heading("Managed challenges")
	if got := b.text("table"); !strings.Contains(got, "self-example") || !strings.Contains(got, ".example.com") {
		b.t.Errorf("the configs page lists %q", got)
	}
	b.shot("configs")

}

// createToken adds a principal, then a token for it, copies the secret
// with the copy button and returns the client ID and the copied secret.
func (b *browserSession) createToken() (string, string) {
	b.load("the principals page", chromedp.Click(chromedp.CSS(`nav a[href="/console/principals"]`)))
	b.do("filling in the principal form",
		chromedp.SendKeys(chromedp.ID("ptitle"), "lego on host01"), chromedp.SendKeys(chromedp.ID("description"), "the web servers' certificates"))
	b.load("adding the principal", chromedp.Submit(chromedp.ID("ptitle")))
	b.do("the principal's notice", chromedp.WaitVisible(chromedp.CSS("p.notice")))
	b.shot("principals")
	b.load("the tokens page", chromedp.Click(chromedp.CSS(`nav a[href="/console/tokens"]`)))
	principals, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#principal option")).filter(o => o.text.startsWith("lego on host01")).map(o => o.value)`))
	if err != nil || len(principals) != 1 {
		b.t.Fatalf("the token form offers %q for the new principal: %v", principals, err)
	}
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: b.base}); err != nil {
			b.t.Fatalf("granting %s: %v", name, err)
		}
	}
	b.do("filling in the token form", chromedp.SetValue(chromedp.ID("principal"), principals[0]), chromedp.SendKeys(chromedp.ID("ttitle"), "lego on host01"))
	b.load("creating the token", chromedp.Submit(chromedp.ID("ttitle")))
	b.do("the new secret", chromedp.WaitVisible(chromedp.ID("client-secret")))
	b.heading("New API token secret")
	clientID, shownSecret := b.value("client-id"), b.value("client-secret")
	b.do("copying the secret", chromedp.Click(chromedp.CSS(`button[data-copy="client-secret"]`)))
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.querySelector('button[data-copy="client-secret"]').textContent === "Copied"`,
		chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		b.fail("the copy button", err)
	}
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`,
		func(p *runtime.EvaluateParams) { p.AwaitPromise = new(true) }))
	if err != nil {
		b.fail("reading the clipboard", err)
	}
	b.shot("secret")
	if copied == "" || copied != shownSecret || !strings.HasPrefix(clientID, "hub_") {
		b.t.Fatalf("copied %q; the page showed the client ID %q and the secret %q", copied, clientID, shownSecret)
	}

	return clientID, copied
}

// backToTheSecret leaves the secret's page for the tokens and goes Back:
// the page the browser shows then has no secret, neither restored from
// the back/forward cache nor loaded again.
func (b *browserSession) backToTheSecret(secret string) {
	b.expectRefusal("/console/tokens/secret")
	b.load("back to the tokens", chromedp.Click(chromedp.CSS(`main a[href="/console/tokens"]`)))
	b.do("the browser's Back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	err := b.until(10*time.Second, `location.pathname === "/console/tokens/secret" && document.readyState === "complete" &&
		document.querySelector("h1").textContent === "Secret already shown"`)
	page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML +
		Array.from(document.querySelectorAll("input")).map(i => i.value).join(" ")`))
	if strings.Contains(page, secret) {
		b.t.Errorf("Back shows the token's secret again")
	}
	if err != nil {
		b.fail("after Back, the page says the secret was shown", err)
	}
	b.shot("secret-gone")
}

// until evaluates cond until it is true, across the navigations under way
// (which end the page a Poll would run in).
func (b *browserSession) until(timeout time.Duration, cond string) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %v, %w", timeout, ok, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// refusal: a page the console refuses comes in its layout, with a way back.
func (b *browserSession) refusal() {
	b.expectRefusal("/console/configs/nosuchconfig")
	b.do("a config that is not there", chromedp.Navigate(b.base+"/console/configs/nosuchconfig"), chromedp.WaitVisible(chromedp.CSS("p.error")))
	b.heading("Not found")
	b.shot("not-found")
	b.load("back to the console", chromedp.Click(chromedp.CSS(`main a[href="/console/"]`)))
	b.heading("Dashboard")
}

// anotherOrigin: a page of another origin on the same host (so the same
// site: the session cookie, SameSite=Strict, goes with its requests) posts
// the principals form with the console's CSRF token, as a page that got
// hold of it would. The console refuses it, and no principal is made.
func (b *browserSession) anotherOrigin() {
	b.load("the principals page", chromedp.Navigate(b.base+"/console/principals"))
	csrf, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('form[action="/console/principals"] input[name="csrf"]').value`))
	if err != nil || csrf == "" {
		b.fail("reading the CSRF token", err)
	}
	evil := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>another origin</title>
<form method="post" action="%s/console/principals"><input name="csrf" value="%s"><input name="kind" value="application">
<input name="title" value="planted by another origin"><button>go</button></form>`, b.base, html.EscapeString(csrf))
	}))
	defer evil.Close()
	b.expectRefusal("/console/principals")
	b.do("the other origin's page", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("button")))
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS("button")))
	if err != nil {
		b.fail("posting from the other origin", err)
	}
	if resp.Status != http.StatusForbidden || !strings.Contains(b.text("p.error"), "another site") {
		b.t.Errorf("a form posted from %s with the console's CSRF token: %d %s, want 403", evil.URL, resp.Status, b.text("main"))
	}
	b.shot("another-origin")
	b.load("the principals page", chromedp.Navigate(b.base+"/console/principals"))
	if strings.Contains(b.text("main"), "planted by another origin") {
		b.t.Error("the other origin's form made a principal")
	}
}

// useToken: the token at work, a real httpreq present over the hub's TLS,
// served by the hub's DNS.
func (b *browserSession) useToken(hub *testutil.Process, clientID, copied string) {
	body, _ := json.Marshal(map[string]string{"fqdn": "_acme-challenge.www.example.com.", "value": testutil.HubValue})
	req, _ := http.NewRequest(http.MethodPost, b.base+"/httpreq/present", bytes.NewReader(body))
	req.SetBasicAuth(clientID, copied)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.t.Fatalf("httpreq present with the token made in the console: %d", resp.StatusCode)
	}
	if values, err := (dnsclient.Resolver{}).ServedTXT(context.Background(), hub.DNSUDP, "_acme-challenge.www.example.com"); err != nil || !slices.Equal(values, []string{testutil.HubValue}) {
		b.t.Errorf("the hub's DNS serves %q, %v", values, err)
	}

}

// findInAudit finds the request in the audit log; the tokens page shows
// no secret.
func (b *browserSession) findInAudit(clientID, copied string) {
	b.load("the audit log", chromedp.Click(chromedp.CSS(`nav a[href="/console/audit"]`)))
	b.do("filling in the audit filter", chromedp.SendKeys(chromedp.ID("identifier"), "www.example.com"))
	b.load("filtering the audit log", chromedp.Submit(chromedp.ID("identifier")))
	b.do("the filtered audit log", chromedp.WaitVisible(chromedp.CSS("table.audit tbody tr")))
	row := b.text("table.audit tbody tr")
	b.shot("audit")
	for _, want := range []string{"present", clientID, "www.example.com", "_acme-challenge.www.example.com", "self-example", "ok", "httpreq"} {
		if !strings.Contains(row, want) {
			b.t.Errorf("the audit log's newest row %q lacks %q", row, want)
		}
	}
	b.load("the entry's details", chromedp.Click(chromedp.CSS(`table.audit tbody tr a`)))
	entry := b.text("dl.entry")
	b.shot("audit-entry")
	for _, want := range []string{"present", "lego on host01", clientID, "_acme-challenge.www.example.com", "self-example", "httpreq"} {
		if !strings.Contains(entry, want) {
			b.t.Errorf("the entry's details %q lack %q", entry, want)
		}
	}
	b.do("the tokens page", chromedp.Navigate(b.base+"/console/tokens"), chromedp.WaitVisible(chromedp.CSS("table")))
	b.shot("tokens")
	if page, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(page, copied) {
		b.t.Error("the tokens page shows the secret again")
	}

}

// phone: at a phone's width (375 px), every page still fits.
func (b *browserSession) phone() {
	b.do("a phone's screen", chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, page := range []string{"", "configs", "configs/new", "configs/self-example", "principals", "tokens", "audit"} {
		name := "phone-" + cmp.Or(strings.ReplaceAll(page, "/", "-"), "dashboard")
		b.load(name, chromedp.Navigate(b.base+"/console/"+page))
		width, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		if err != nil {
			b.fail("measuring the page", err)
		}
		b.shot(name)
		if width > 375 {
			b.t.Errorf("page /console/%s is %d px wide on a 375 px screen", page, width)
		}
	}
}

// rendered checks that a screenshot shows a laid-out page, not a blank
// one: several colours, and a fair share of pixels that are not the
// background's.
func rendered(pngData []byte) error {
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		return err
	}
	b := img.Bounds()
	if b.Dx() < 300 || b.Dy() < 300 {
		return fmt.Errorf("%dx%d: too small", b.Dx(), b.Dy())
	}
	colours := map[uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11]++
		}
	}
	total, background := 0, 0
	for _, n := range colours {
		total += n
		background = max(background, n)
	}
	if len(colours) < 16 || float64(total-background)/float64(total) < 0.03 {
		return fmt.Errorf("looks blank: %d colours, %.1f%% of the pixels off the background", len(colours), 100*float64(total-background)/float64(total))
	}
	return nil
}

// summary repeats a test's failures after everything its cleanups log (the
// servers' output), so that the cause is the last thing the test prints.
type summary struct {
	*testing.T
	failures []string
}

func summarise(t *testing.T) *summary {
	s := &summary{T: t}
	t.Cleanup(func() {
		if len(s.failures) > 0 {
			t.Logf("failed: %s", strings.Join(s.failures, "; "))
		}
	})
	return s
}

func (s *summary) note(msg string) {
	first, _, _ := strings.Cut(msg, "\n")
	s.failures = append(s.failures, first)
}

func (s *summary) Errorf(format string, args ...any) {
	s.Helper()
	s.note(fmt.Sprintf(format, args...))
	s.T.Errorf(format, args...)
}

func (s *summary) Fatalf(format string, args ...any) {
	s.Helper()
	s.note(fmt.Sprintf(format, args...))
	s.T.Fatalf(format, args...)
}

func (s *summary) Error(args ...any) {
	s.Helper()
	s.note(fmt.Sprint(args...))
	s.T.Error(args...)
}

func (s *summary) Fatal(args ...any) {
	s.Helper()
	s.note(fmt.Sprint(args...))
	s.T.Fatal(args...)
}
