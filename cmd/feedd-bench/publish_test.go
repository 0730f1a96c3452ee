package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/feedd/feedd/store"
)

// natsCSV is what `nats bench js pub async --csv` v0.5.0 wrote for one client (its MsgCount
// column counts twice the messages; MsgsPerSec is right).
const natsCSV = `#RunID,ClientID,MsgCount,MsgBytes,MsgsPerSec,BytesPerSec,DurationSecs,MinLatencyMicroSecs,AvgLatencyMicroSecs,MaxLatencyMicroSecs,P50LatencyMicroSecs,P90LatencyMicroSecs,P99LatencyMicroSecs,P99.9LatencyMicroSecs,StdDevLatencyMicroSecs
cZZuPKrPoC9rlSsYuazhOC,P0,4000,12008000,24820,149020201.482808,0.080580,14249.193000,20114.444750,26949.038000,16675.800000,26949.038000,26949.038000,26949.038000,20701.225935
`

func TestParseNatsCSV(t *testing.T) {
	header, row, _ := strings.Cut(natsCSV, "\n")
	tests := []struct {
		name    string
		csv     string
		want    float64
		wantErr string
	}{
		{name: "one client", csv: natsCSV, want: 24820},
		{name: "no runs", csv: header + "\n", wantErr: "got 1 lines"},
		{name: "two clients", csv: natsCSV + row, wantErr: "got 3 lines"},
		{name: "no rate column", csv: "#RunID,ClientID\nx,P0\n", wantErr: "no MsgsPerSec column"},
		{name: "rate not a number", csv: strings.Replace(natsCSV, ",24820,", ",fast,", 1), wantErr: `MsgsPerSec "fast"`},
		{name: "zero rate", csv: strings.Replace(natsCSV, ",24820,", ",0,", 1), wantErr: `MsgsPerSec "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNatsCSV(strings.NewReader(tt.csv))
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, %v; want an error containing %q", got, err, tt.wantErr)
			case tt.wantErr == "" && (err != nil || got != tt.want):
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// sample is a message shaped like those feedd records.
func sample() store.Message {
	id := strings.Repeat("ab", 32)
	return store.Message{
		MsgID:   id,
		Subject: "articles.new.ar.sabq-0801-0",
		Header: map[string]string{
			"Nats-Msg-Id": id, "ce-id": id, "Content-Type": "application/json", "ce-specversion": "1.0",
			"ce-type": "feedd.article.new", "ce-source": "http://127.0.0.1:1234/sabq-0801-0.xml", "ce-time": "2026-01-02T03:04:05Z",
		},
		Data: bytes.Repeat([]byte("x"), 6004),
	}
}

func TestNatsBenchArgs(t *testing.T) {
	args := natsBenchArgs(20000, sample())
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"bench js pub async " + benchSubject + " --stream " + benchStream,
		"--msgs 20000", "--size 6004", "--dedup",
		"-H Content-Type:application/json -H ce-id:" + strings.Repeat("ab", 32) +
			" -H ce-source:http://127.0.0.1:1234/sabq-0801-0.xml -H ce-specversion:1.0 -H ce-time:2026-01-02T03:04:05Z -H ce-type:feedd.article.new",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("got %q, want it to contain %q", joined, want)
		}
	}
	for _, unwanted := range []string{"Nats-Msg-Id", "--create", "--purge", "--batch"} {
		if strings.Contains(joined, unwanted) {
			t.Errorf("got %q, want no %s: the id comes from --dedup, the stream is feedd's, the batch nats bench's default", joined, unwanted)
		}
	}
}

func TestBenchMessages(t *testing.T) {
	m := sample()
	msgs := benchMessages(m, "18c3-2-", 300)
	seen := map[string]bool{}
	for i, got := range msgs {
		if seen[got.ID] {
			t.Fatalf("message %d: id %s used twice", i, got.ID)
		}
		seen[got.ID] = true
		if len(got.ID) != len(m.MsgID) || !strings.HasPrefix(got.ID, "18c3-2-") {
			t.Errorf("message %d: got id %q, want %d characters starting with the prefix", i, got.ID, len(m.MsgID))
		}
		if got.Header["Nats-Msg-Id"] != got.ID || got.Header["ce-id"] != got.ID {
			t.Errorf("message %d: got Nats-Msg-Id %q and ce-id %q, want the id %q", i, got.Header["Nats-Msg-Id"], got.Header["ce-id"], got.ID)
		}
		if headerBytes(got.Header) != headerBytes(m.Header) || len(got.Data) != len(m.Data) || got.Subject != benchSubject {
			t.Errorf("message %d: got %d header bytes, %d body bytes, subject %s; want %d, %d, %s", i,
				headerBytes(got.Header), len(got.Data), got.Subject, headerBytes(m.Header), len(m.Data), benchSubject)
		}
	}
	if m.Header["ce-id"] != m.MsgID {
		t.Error("benchMessages changed the sample's headers")
	}
}

func TestHeaderBytes(t *testing.T) {
	tests := []struct {
		name string
		h    map[string]string
		want int
	}{
		{name: "none", h: nil, want: len("NATS/1.0\r\n\r\n")},
		{name: "one", h: map[string]string{"A": "bc"}, want: len("NATS/1.0\r\nA: bc\r\n\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerBytes(tt.h); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestFindNatsCLI(t *testing.T) {
	gopath := t.TempDir()
	t.Setenv("GOPATH", gopath)
	t.Setenv("PATH", t.TempDir()) // neither nats nor go: GOPATH comes from the environment

	_, err := findNatsCLI(t.Context(), "")
	if !errors.Is(err, errNoNatsCLI) || !strings.Contains(err.Error(), natsCLIInstall) ||
		!strings.Contains(err.Error(), filepath.Join(gopath, "bin", "nats")) {
		t.Errorf("nothing installed: got %v, want errNoNatsCLI naming where it looked and how to install it", err)
	}
	if _, err := findNatsCLI(t.Context(), "/no/such/nats"); err == nil || !strings.Contains(err.Error(), "/no/such/nats") {
		t.Errorf("missing -nats-cli: got %v, want an error naming it", err)
	}

	bin := filepath.Join(gopath, "bin", "nats")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findNatsCLI(t.Context(), ""); err != nil || got != bin {
		t.Errorf("installed with go install: got %q, %v; want %s", got, err, bin)
	}
}

func TestPublishBadFlags(t *testing.T) {
	needCorpus(t) // the corpus is checked before the publish options
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no messages", args: []string{"-publish", "-msgs", "0"}, want: "-msgs 0"},
		{name: "no runs", args: []string{"-publish", "-runs", "0"}, want: "-runs 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), tt.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) = %d, stderr %q; want 2 and an error naming %s", tt.args, code, stderr.String(), tt.want)
			}
		})
	}
}

func TestPublishWriteText(t *testing.T) {
	r := publishReport{RatioLimit: publishRatioLimit, BodyBytes: 6004, Sizes: sizes{Days: days}, Sides: []publishSide{
		{Name: sideNatsBench, MedianMsgs: 30000, Ratio: 1},
		{Name: sidePublishBatch, MedianMsgs: 29000, Ratio: 29000.0 / 30000},
		{Name: sideRelay, MedianMsgs: 12000, Ratio: 0.4},
	}}
	var b bytes.Buffer
	r.writeText(&b)
	for _, want := range []string{
		sidePublishBatch + ": 97% of nats bench (meets issue 6's 80%)",
		sideRelay + ": 40% of nats bench (does NOT meet issue 6's 80%)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}

// TestPublishSmoke runs the publish benchmark once on a few hundred messages when natscli is
// installed, and checks its JSON report.
func TestPublishSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs natscli and a NATS server")
	}
	needCorpus(t)
	if _, err := findNatsCLI(t.Context(), ""); err != nil {
		t.Skip(err)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-publish", "-feeds", "3", "-per-feed", "10", "-msgs", "300", "-runs", "1", "-json"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("got exit code %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var r publishReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("reading the JSON report %q: %v", stdout.String(), err)
	}
	if r.Messages != 300 || r.Sizes.Messages < 3 || r.BodyBytes != r.Sizes.BodyP50 || r.BodyBytes < 100 {
		t.Errorf("got %d messages a run of %d bytes, sized from %d, want 300 of the median size", r.Messages, r.BodyBytes, r.Sizes.Messages)
	}
	if !strings.Contains(r.NatsCommand, "--size "+strconv.Itoa(r.BodyBytes)) {
		t.Errorf("got nats command %q, want the measured size %d", r.NatsCommand, r.BodyBytes)
	}
	names := make([]string, len(r.Sides))
	for i, s := range r.Sides {
		names[i] = s.Name
		if len(s.MsgsPerSecond) != 1 || s.MedianMsgs <= 0 || s.MedianMiB <= 0 || s.Ratio <= 0 {
			t.Errorf("%s: got %+v, want one run and positive figures", s.Name, s)
		}
	}
	if want := []string{sideNatsBench, sidePublishBatch, sideRelay}; !slices.Equal(names, want) {
		t.Errorf("got sides %q, want %q", names, want)
	}
	if r.Sides[0].Ratio != 1 {
		t.Errorf("got nats bench's ratio %v, want 1", r.Sides[0].Ratio)
	}
}
