package cmd

import (
	"slices"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	var f webhookFlags
	fs := f.flagSet()
	tests := []struct {
		args, ours, rest []string
	}{
		{
			args: []string{"--secure-port=8443", "--server-config", "/etc/acmehub/config.cfg", "-v", "2", "--tls-cert-file", "/tls/tls.crt"},
			ours: []string{"--server-config", "/etc/acmehub/config.cfg"},
			rest: []string{"--secure-port=8443", "-v", "2", "--tls-cert-file", "/tls/tls.crt"},
		},
		{
			args: []string{"--server", "--delegation-check=enforce", "--resolvers", "10.0.0.10:53", "--kubeconfig", "k"},
			ours: []string{"--server", "--delegation-check=enforce", "--resolvers", "10.0.0.10:53"},
			rest: []string{"--kubeconfig", "k"},
		},
		{args: []string{"--help"}, rest: []string{"--help"}},
	}
	for _, tt := range tests {
		ours, rest := splitArgs(fs, tt.args)
		if !slices.Equal(ours, tt.ours) || !slices.Equal(rest, tt.rest) {
			t.Errorf("splitArgs(%q) = %q, %q; want %q, %q", tt.args, ours, rest, tt.ours, tt.rest)
		}
	}
	ours, _ := splitArgs(fs, tests[1].args)
	if err := fs.Parse(ours); err != nil || !f.embedded || f.delegationCheck != "enforce" || !slices.Equal(f.resolvers, []string{"10.0.0.10:53"}) {
		t.Errorf("parsed %+v, %v", f, err)
	}
}
