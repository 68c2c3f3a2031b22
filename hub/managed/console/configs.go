// Copyright 2026 The acmehub Authors
// SPDX-License-Identifier: Apache-2.0

package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/acmehub/acmehub/hub/managed"
	"github.com/acmehub/acmehub/hub/managed/providers"
	"github.com/acmehub/acmehub/hub/store"
)

type configsData struct {
	Configs []store.ChallengeConfig
}

func (h *Handler) configs(w http.ResponseWriter, r *http.Request, rq request) {
	p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
	p.Notice = notices[r.URL.Query().Get("done")]
	h.render(w, http.StatusOK, "configs", p)
}

type configForm struct {
	New                bool
	ID, Title          string
	Provider, Zone     string
	Rules, Nameservers string
	TTL                int
	AllowCNAME         bool
	HasCredentials     bool
	Providers          []providerForm
}

// providerForm is a provider's credential fields on the config form.
type providerForm struct {
	Name, Description string
	Fields            []credentialField
}

// credentialField is one field, with what the form sent when it is shown
// again after a refusal (never a secret's).
type credentialField struct {
	providers.Field
	Value string
}

// providerForms are the service's providers with their credential fields
// (from the registry), filled with what form sent.
func (h *Handler) providerForms(form url.Values) []providerForm {
	registered := providers.All()
	var out []providerForm
	for _, name := range h.svc.Providers() {
		pf := providerForm{Name: name}
		if i := slices.IndexFunc(registered, func(p providers.Provider) bool { return p.Name == name }); i >= 0 {
			p := registered[i]
			pf.Description = p.Description
			for _, f := range p.Credentials {
				cf := credentialField{Field: f}
				if !f.Secret {
					cf.Value = form.Get(credentialInput(name, f.Name))
				}
				pf.Fields = append(pf.Fields, cf)
			}
		}
		out = append(out, pf)
	}
	return out
}

// credentialInput is the form field of a provider's credential field.
func credentialInput(provider, field string) string { return "cred-" + provider + "-" + field }

// credentials are the selected provider's fields the form filled in, as
// the JSON object the provider takes; nil when none is filled in (a
// config's stored credentials are then kept).
func credentials(form url.Values, p providerForm) []byte {
	fields := map[string]any{}
	for _, f := range p.Fields {
		v := form.Get(credentialInput(p.Name, f.Name))
		switch {
		case f.List && len(lines(v)) > 0:
			fields[f.Name] = lines(v)
		case !f.List && strings.TrimSpace(v) != "":
			fields[f.Name] = strings.TrimSpace(v)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	raw, _ := json.Marshal(fields)
	return raw
}

func (h *Handler) configForm(w http.ResponseWriter, r *http.Request, rq request) {
	f := configForm{New: true, Provider: "self", TTL: 60, Providers: h.providerForms(nil)}
	if id := r.PathValue("id"); id != "" {
		c, ok := h.svc.Config(id)
		if !ok {
			h.refuse(w, http.StatusNotFound, fmt.Sprintf("There is no config %s.", id))
			return
		}
		prop, _ := providers.ParsePropagation(c.Propagation)
		f = configForm{ID: c.ID, Title: c.Title, Provider: c.Provider, Zone: c.Zone, Rules: strings.Join(c.Rules, "\n"),
			Nameservers: strings.Join(prop.Nameservers, "\n"), TTL: c.TTL, AllowCNAME: c.AllowCNAME,
			HasCredentials: len(c.Credentials) > 0, Providers: h.providerForms(nil)}
	}
	title := "Add a managed challenge"
	if !f.New {
		title = "Edit " + f.ID
	}
	h.render(w, http.StatusOK, "config", h.page(rq, title, "configs", f))
}

// invalid is a form's value the console refuses itself.
func invalid(format string, a ...any) error {
	return &managed.Error{Code: managed.CodeInvalid, Err: fmt.Errorf(format, a...)}
}

// lines splits a textarea into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (h *Handler) putConfig(w http.ResponseWriter, r *http.Request, rq request) {
	f := r.PostForm
	form := configForm{New: f.Get("new") == "true", ID: strings.TrimSpace(f.Get("id")), Title: f.Get("title"), Provider: f.Get("provider"),
		Zone: strings.TrimSpace(f.Get("zone")), Rules: f.Get("rules"), Nameservers: f.Get("nameservers"), AllowCNAME: f.Get("allow_cname") == "on",
		Providers: h.providerForms(f)}
	ttl, err := strconv.Atoi(strings.TrimSpace(f.Get("ttl")))
	form.TTL = ttl
	if err != nil || ttl < 1 {
		err = invalid("TTL %q: a number of seconds, at least 1", f.Get("ttl"))
	}
	if _, exists := h.svc.Config(form.ID); err == nil && form.New && exists {
		err = invalid("a config with the ID %s exists already: edit it instead", form.ID)
	}
	if err == nil {
		in := managed.ConfigInput{ChallengeConfig: store.ChallengeConfig{ID: form.ID, Title: form.Title, Provider: form.Provider, Zone: form.Zone,
			Rules: lines(form.Rules), TTL: ttl, AllowCNAME: form.AllowCNAME,
			Propagation: providers.PropagationSettings{Nameservers: lines(form.Nameservers)}.String()}}
		if i := slices.IndexFunc(form.Providers, func(p providerForm) bool { return p.Name == form.Provider }); i >= 0 {
			in.Credentials = credentials(f, form.Providers[i])
		}
		if _, err = h.svc.PutConfig(r.Context(), rq.caller, in); err == nil {
			h.redirect(w, r, Base+"/configs", "config-saved")
			return
		}
	}
	c, _ := h.svc.Config(form.ID)
	form.HasCredentials = len(c.Credentials) > 0
	p := h.page(rq, "Managed challenge "+form.ID, "configs", form)
	p.Error = h.message(err)
	h.render(w, status(err), "config", p)
}

func (h *Handler) testConfig(w http.ResponseWriter, r *http.Request, rq request) {
	id := r.PathValue("id")
	p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
	code := http.StatusOK
	if err := h.svc.TestConfig(r.Context(), rq.caller, id); err != nil {
		p.Error, code = h.message(err), status(err)
	} else {
		p.Notice = "Config " + id + ": the provider accepts its credentials."
	}
	h.render(w, code, "configs", p)
}

func (h *Handler) deleteConfig(w http.ResponseWriter, r *http.Request, rq request) {
	if err := h.svc.DeleteConfig(r.Context(), rq.caller, r.PathValue("id")); err != nil {
		p := h.page(rq, "Managed challenges", "configs", configsData{Configs: h.svc.Configs()})
		p.Error = h.message(err)
		h.render(w, status(err), "configs", p)
		return
	}
	h.redirect(w, r, Base+"/configs", "config-deleted")
}

// --- Principals.
