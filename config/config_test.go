package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// problemsOf returns the problems in err, failing the test when err is not a *Problems.
func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	var ps *Problems
	if !errors.As(err, &ps) {
		t.Fatalf("got error %v (%T), want a *Problems", err, err)
	}
	return *ps
}

// writeConfig writes a YAML config into a temporary directory and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feedd.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"no file", ""},
		{"empty file", filepath.Join("testdata", "empty.yaml")},
		{"comments only", filepath.Join("testdata", "comments_only.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path, []string{"HOME=/root", "PATH=/bin"})
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if want := Default(); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want the defaults %+v", got, want)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	c := Default()
	checks := []struct {
		key, want string
	}{
		{"data_dir", "./feedd-data"},
		{"shutdown_timeout", "10s"},
		{"log.level", "info"},
		{"log.format", "text"},
		{"nats.url", ""},
		{"nats.listen", "127.0.0.1:4222"},
		{"nats.stream", "ARTICLES"},
		{"nats.replicas", "1"},
		{"nats.duplicate_window", "1h"},
		{"nats.max_age", "720h"},
		{"http.listen", "127.0.0.1:9090"},
		{"poll.interval", "10m"},
		{"poll.concurrency", "16"},
		{"poll.per_host", "2"},
		{"poll.timeout", "20s"},
		{"poll.max_body", "16MiB"},
		{"poll.user_agent", ""},
		{"dedupe.window", "168h"},
		{"cluster.enabled", "false"},
		{"cluster.name", "feedd"},
		{"cluster.lease_ttl", "10s"},
	}
	for _, tt := range checks {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := c.Get(tt.key)
			if !ok {
				t.Fatalf("Get(%q): no such key", tt.key)
			}
			if got != tt.want {
				t.Errorf("default %s: got %q, want %q", tt.key, got, tt.want)
			}
		})
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate(): got %v, want nil", err)
	}
	if !reflect.DeepEqual(c.Feeds, DefaultFeeds()) {
		t.Errorf("Default().Feeds: got %v, want DefaultFeeds()", c.Feeds)
	}
}

// fullConfig is testdata/full.yaml.
func fullConfig() Config {
	return Config{
		DataDir:         "/var/lib/feedd",
		ShutdownTimeout: 30 * time.Second,
		Log:             Log{Level: "debug", Format: "json"},
		NATS: NATS{
			URL:             "nats://nats-1:4222,nats://nats-2:4222",
			Listen:          "0.0.0.0:4333",
			Creds:           "/etc/feedd/nats.creds",
			Stream:          "NEWS_AR",
			Replicas:        3,
			DuplicateWindow: 2 * time.Hour,
			MaxAge:          7 * 24 * time.Hour,
		},
		HTTP: HTTP{Listen: ":9191"},
		Poll: Poll{
			Interval:    90 * time.Minute,
			Concurrency: 8,
			PerHost:     1,
			Timeout:     45 * time.Second,
			MaxBody:     4 * MiB,
			UserAgent:   "feedd-test/1.0 (+https://example.org)",
			MinInterval: 30 * time.Second,
			MaxInterval: 12 * time.Hour,
			HostGap:     2 * time.Second,
			MaxItems:    300,

			DenyPrivateNetworks: true,
		},
		Dedupe:  Dedupe{Window: 72 * time.Hour},
		Outbox:  Outbox{MaxPending: 5000},
		Cluster: Cluster{Enabled: true, Name: "newsroom", LeaseTTL: 4 * time.Second},
		Extract: Extract{
			FullText:      FullTextAlways,
			MinWords:      60,
			Concurrency:   4,
			Timeout:       30 * time.Second,
			MaxBody:       2 * MiB,
			RespectRobots: false,
		},
		Feeds: []Feed{
			{
				ID:       "aljazeera",
				URL:      "https://www.aljazeera.net/aljazeerarss/a7c186be-1baa-4bd4-9d80-a84db769f779/73d0e1b4-532f-45ef-b135-bfdff8b8cab9",
				Name:     "الجزيرة",
				Language: "ar",
				Interval: 5 * time.Minute,
				Charset:  "windows-1256",
				Timezone: "Asia/Riyadh",
				FullText: FullTextNever,
				Extract: FeedExtract{
					Body:  "div.wysiwyg--all-content",
					Strip: []string{"div.more-on", "aside", ".article-share > a[href^='https://twitter.com']"},
				},
			},
			// name and language left out: they default to the id and "ar".
			{ID: "archive_2015", URL: "file:///srv/feeds/archive.xml", Name: "archive_2015", Language: "ar"},
		},
	}
}

func TestLoadFullFile(t *testing.T) {
	got, err := Load(filepath.Join("testdata", "full.yaml"), nil)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	want := fullConfig()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	// Every scalar key must differ from its default in full.yaml, so that this test proves the
	// file sets each one.
	def := Default()
	for _, s := range Settings() {
		g, _ := got.Get(s.Key)
		d, _ := def.Get(s.Key)
		if g == d {
			t.Errorf("%s: full.yaml leaves the default %q: set it to something else", s.Key, d)
		}
	}
}

func TestLoadEnvironment(t *testing.T) {
	full := filepath.Join("testdata", "full.yaml")
	tests := []struct {
		name    string
		path    string
		environ []string
		want    func(*Config)
	}{
		{
			name:    "env beats file",
			path:    full,
			environ: []string{"FEEDD_POLL_INTERVAL=2m", "FEEDD_NATS_REPLICAS=5", "FEEDD_POLL_MAX_BODY=512KiB", "FEEDD_LOG_LEVEL=warn"},
			want: func(c *Config) {
				c.Poll.Interval = 2 * time.Minute
				c.NATS.Replicas = 5
				c.Poll.MaxBody = 512 * KiB
				c.Log.Level = "warn"
			},
		},
		{
			name: "empty value sets empty",
			path: full,
			environ: []string{"FEEDD_NATS_URL=", "FEEDD_HTTP_LISTEN=", "FEEDD_NATS_LISTEN=", "FEEDD_POLL_USER_AGENT=",
				"FEEDD_CLUSTER_ENABLED=false"}, // cluster mode needs nats.url
			want: func(c *Config) {
				c.Cluster.Enabled = false
				c.NATS.URL = ""
				c.HTTP.Listen = ""
				c.NATS.Listen = ""
				c.Poll.UserAgent = ""
			},
		},
		{
			name:    "absent and foreign variables change nothing",
			path:    full,
			environ: []string{"NATS_URL=nats://elsewhere:4222", "feedd_poll_interval=1s", "HOME=/root", "FEEDD_CONFIG=/etc/feedd.yaml"},
			want:    func(*Config) {},
		},
		{
			name:    "the last setting of a variable wins",
			path:    full,
			environ: []string{"FEEDD_DATA_DIR=/first", "FEEDD_DATA_DIR=/second"},
			want:    func(c *Config) { c.DataDir = "/second" },
		},
		{
			name:    "env over defaults without a file",
			environ: []string{"FEEDD_NATS_URL=nats://remote:4222", "FEEDD_DEDUPE_WINDOW=2d", "FEEDD_SHUTDOWN_TIMEOUT=1m"},
			want: func(c *Config) {
				*c = Default()
				c.NATS.URL = "nats://remote:4222"
				c.Dedupe.Window = 48 * time.Hour
				c.ShutdownTimeout = time.Minute
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path, tt.environ)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			want := fullConfig()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// TestEnvEveryKey sets every scalar key through its variable.
func TestEnvEveryKey(t *testing.T) {
	values := map[string]string{
		"data_dir": "/d", "shutdown_timeout": "3s", "log.level": "error", "log.format": "json",
		"nats.url": "tls://n:4222", "nats.listen": ":4444", "nats.creds": "/c", "nats.stream": "S",
		"nats.replicas": "2", "nats.duplicate_window": "30m", "nats.max_age": "1h", "http.listen": ":1",
		"poll.interval": "1m", "poll.concurrency": "3", "poll.per_host": "4", "poll.timeout": "5s",
		"poll.max_body": "1MiB", "poll.user_agent": "ua", "dedupe.window": "1h",
		"poll.min_interval": "10s", "poll.max_interval": "2h", "poll.host_gap": "0s", "poll.max_items": "50",
		"poll.deny_private_networks": "true", "outbox.max_pending": "7",
		"cluster.enabled": "true", "cluster.name": "ha-1", "cluster.lease_ttl": "3s",
		"extract.full_text": "never", "extract.min_words": "0", "extract.concurrency": "2",
		"extract.timeout": "9s", "extract.max_body": "3MiB", "extract.respect_robots": "false",
	}
	var environ []string
	for _, s := range Settings() {
		v, ok := values[s.Key]
		if !ok {
			t.Fatalf("no test value for %s", s.Key)
		}
		environ = append(environ, s.Env+"="+v)
	}
	got, err := Load("", environ)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	for key, want := range values {
		if g, _ := got.Get(key); g != want {
			t.Errorf("%s: got %q, want %q", key, g, want)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    []Problem // Msg is a substring of the reported one
	}{
		{
			name: "bad feed id",
			yaml: "feeds:\n  - id: Al Jazeera\n    url: https://www.aljazeera.net/\n",
			want: []Problem{{"feeds[0].id", "Al Jazeera", "must match [a-z0-9_-]+"}},
		},
		{
			name: "unknown feed charset",
			yaml: "feeds:\n  - id: a\n    url: https://example.com/\n    charset: cp9999\n",
			want: []Problem{{"feeds[0].charset", "cp9999", "unknown character set"}},
		},
		{
			name: "unknown feed time zone",
			yaml: "feeds:\n  - id: a\n    url: https://example.com/\n    timezone: Asia/Nowhere\n",
			want: []Problem{{"feeds[0].timezone", "Asia/Nowhere", "unknown time zone"}},
		},
		{
			name: "max interval below min interval",
			yaml: "poll:\n  min_interval: 10m\n  max_interval: 5m\n",
			want: []Problem{{"poll.max_interval", "5m", "at least poll.min_interval"}},
		},
		{
			name: "extract keys",
			yaml: "extract:\n  full_text: sometimes\n  min_words: -1\n  concurrency: 0\n  timeout: 0s\n  max_body: 0\n  respect_robots: perhaps\n",
			want: []Problem{
				{"extract.respect_robots", "perhaps", "invalid boolean"},
				{"extract.full_text", "sometimes", "must be auto, always or never"},
				{"extract.min_words", "-1", "must not be negative"},
				{"extract.concurrency", "0", "at least 1"},
				{"extract.timeout", "0s", "positive"},
				{"extract.max_body", "0B", "must be positive"},
			},
		},
		{
			name: "feed full_text",
			yaml: "feeds:\n  - id: a\n    url: https://example.com/\n    full_text: yes\n",
			want: []Problem{{"feeds[0].full_text", "yes", "must be auto, always or never"}},
		},
		{
			name: "bad feed selectors",
			yaml: "feeds:\n  - id: a\n    url: https://example.com/\n    extract:\n      body: \"div[class=\"\n      strip: [aside, \"p >> \", \"\"]\n",
			want: []Problem{
				{"feeds[0].extract.body", "div[class=", "invalid CSS selector"},
				{"feeds[0].extract.strip[1]", "p >> ", "invalid CSS selector"},
				{"feeds[0].extract.strip[2]", "", "empty CSS selector"},
			},
		},
		{
			name: "feed extract shapes",
			yaml: "feeds:\n  - id: a\n    url: https://example.com/\n    extract: div.body\n  - id: b\n    url: https://example.com/b\n    extract:\n      bdy: div\n      strip: aside\n",
			want: []Problem{
				{"feeds[0].extract", "div.body", "must be a mapping of body and strip"},
				{"feeds[1].extract.bdy", "", "unknown key (did you mean body?)"},
				{"feeds[1].extract.strip", "aside", "must be a list of CSS selectors"},
			},
		},
		{
			name: "bad boolean",
			yaml: "poll:\n  deny_private_networks: maybe\n",
			want: []Problem{{"poll.deny_private_networks", "maybe", "invalid boolean"}},
		},
		{
			name: "cluster mode without nats.url",
			yaml: "cluster:\n  enabled: true\n",
			want: []Problem{{"cluster.enabled", "true", "cluster mode needs nats.url"}},
		},
		{
			name:    "cluster mode from the environment",
			environ: []string{"FEEDD_CLUSTER_ENABLED=true"},
			want:    []Problem{{"cluster.enabled", "true", "needs nats.url"}},
		},
		{
			name: "bad cluster name",
			yaml: "cluster:\n  name: Feedd.Prod\n",
			want: []Problem{{"cluster.name", "Feedd.Prod", "must match [a-z0-9_-]+"}},
		},
		{
			name:    "lease TTL below a second",
			environ: []string{"FEEDD_CLUSTER_LEASE_TTL=500ms"},
			want:    []Problem{{"cluster.lease_ttl", "500ms", "at least 1s"}},
		},
		{
			name: "explicitly empty feed list",
			yaml: "feeds: []\n",
			want: []Problem{{"feeds", "", "must list at least one feed"}},
		},
		{
			name: "empty feed id",
			yaml: "feeds:\n  - url: https://www.aljazeera.net/\n",
			want: []Problem{{"feeds[0].id", "", "required"}},
		},
		{
			name: "relative feed URL",
			yaml: "feeds:\n  - id: a\n    url: feeds/a.xml\n",
			want: []Problem{{"feeds[0].url", "feeds/a.xml", "absolute"}},
		},
		{
			name: "feed URL without host",
			yaml: "feeds:\n  - id: a\n    url: 'https:///a.xml'\n",
			want: []Problem{{"feeds[0].url", "https:///a.xml", "no host"}},
		},
		{
			name: "feed URL with another scheme",
			yaml: "feeds:\n  - id: a\n    url: ftp://example.org/a.xml\n",
			want: []Problem{{"feeds[0].url", "ftp://example.org/a.xml", `scheme "ftp"`}},
		},
		{
			name: "relative file URL",
			yaml: "feeds:\n  - id: a\n    url: file:feeds/a.xml\n",
			want: []Problem{{"feeds[0].url", "file:feeds/a.xml", "file:///absolute/path"}},
		},
		{
			name: "unparseable feed URL",
			yaml: "feeds:\n  - id: a\n    url: 'http://exa mple.org/'\n",
			want: []Problem{{"feeds[0].url", "http://exa mple.org/", "invalid URL"}},
		},
		{
			name: "feed URL password is not shown",
			yaml: "feeds:\n  - id: a\n    url: 'gopher://user:secret@example.org/'\n",
			want: []Problem{{"feeds[0].url", "gopher://user:xxxxx@example.org/", `scheme "gopher"`}},
		},
		{
			name: "duplicate feed id",
			yaml: "feeds:\n  - {id: aljazeera, url: 'https://a.example/'}\n  - {id: bbc, url: 'https://b.example/'}\n  - {id: x, url: 'https://c.example/'}\n  - {id: aljazeera, url: 'https://d.example/'}\n",
			want: []Problem{{"feeds[3].id", "aljazeera", "duplicate of feeds[0]"}},
		},
		{
			name: "zero poll interval",
			yaml: "poll:\n  interval: 0s\n",
			want: []Problem{{"poll.interval", "0s", "must be positive"}},
		},
		{
			name: "negative poll interval",
			yaml: "poll:\n  interval: -10m\n",
			want: []Problem{{"poll.interval", "-10m", "must be positive"}},
		},
		{
			name: "negative feed interval",
			yaml: "feeds:\n  - {id: a, url: 'https://a.example/', interval: -1m}\n",
			want: []Problem{{"feeds[0].interval", "-1m", "must not be negative"}},
		},
		{
			name: "unknown key",
			yaml: "poll:\n  intervall: 5m\n",
			want: []Problem{{"poll.intervall", "", "unknown key (did you mean poll.interval?)"}},
		},
		{
			name: "unknown top-level key",
			yaml: "pol:\n  interval: 5m\n",
			want: []Problem{{"pol", "", "unknown key (did you mean poll?)"}},
		},
		{
			name: "unknown feed key",
			yaml: "feeds:\n  - {id: a, url: 'https://a.example/', lang: ar}\n",
			want: []Problem{{"feeds[0].lang", "", "unknown key"}},
		},
		{
			name: "invalid YAML",
			yaml: "poll:\n  interval: 10m\n concurrency: 4\n",
			// yaml.v3 names the line of the mapping the bad key breaks.
			want: []Problem{{"config", "", "line 2: did not find expected key"}},
		},
		{
			name: "invalid YAML on the first line",
			yaml: "\tpoll: 1\n",
			want: []Problem{{"config", "", "line 1:"}},
		},
		{
			name: "two documents",
			yaml: "poll: {interval: 1m}\n---\npoll: {interval: 2m}\n",
			want: []Problem{{"config", "", "second YAML document"}},
		},
		{
			name: "top level is a list",
			yaml: "- poll\n",
			want: []Problem{{"config", "", "must be a mapping"}},
		},
		{
			name: "bad size",
			yaml: "poll:\n  max_body: 16XB\n",
			want: []Problem{{"poll.max_body", "16XB", `unknown unit "XB"`}},
		},
		{
			name: "negative size",
			yaml: "poll:\n  max_body: -1MiB\n",
			want: []Problem{{"poll.max_body", "-1MiB", "negative"}},
		},
		{
			name: "zero size",
			yaml: "poll:\n  max_body: 0\n",
			want: []Problem{{"poll.max_body", "0B", "must be positive"}},
		},
		{
			name: "size without a unit",
			yaml: "poll:\n  max_body: 16\n",
			want: []Problem{{"poll.max_body", "16B", "must be at least 64KiB (a size without a unit is in bytes: write 16MiB, 512KiB)"}},
		},
		{
			name: "size just below the least",
			yaml: "poll:\n  max_body: 65535\n",
			want: []Problem{{"poll.max_body", "65535B", "must be at least 64KiB (a size without a unit is in bytes: write 16MiB, 512KiB)"}},
		},
		{
			name: "bad duration",
			yaml: "poll:\n  interval: ten\n",
			want: []Problem{{"poll.interval", "ten", "invalid duration"}},
		},
		{
			name: "duration without unit",
			yaml: "poll:\n  timeout: 600\n",
			want: []Problem{{"poll.timeout", "600", "missing unit"}},
		},
		{
			name: "bad integer",
			yaml: "poll:\n  concurrency: many\n",
			want: []Problem{{"poll.concurrency", "many", "invalid integer"}},
		},
		{
			name: "list where a value goes",
			yaml: "poll:\n  interval: [1m, 2m]\n",
			want: []Problem{{"poll.interval", "", "must be a single value, not a list"}},
		},
		{
			name: "value where a section goes",
			yaml: "poll: 10m\n",
			want: []Problem{{"poll", "10m", "must be a mapping"}},
		},
		{
			name: "feeds not a list",
			yaml: "feeds: {id: a}\n",
			want: []Problem{{"feeds", "", "must be a list"}},
		},
		{
			name: "feed not a mapping",
			yaml: "feeds:\n  - https://a.example/feed\n",
			want: []Problem{{"feeds[0]", "https://a.example/feed", "must be a mapping"}},
		},
		{
			name: "merge of a value",
			yaml: "feeds:\n  - {<<: 5, id: a, url: 'https://a.example/'}\n",
			want: []Problem{{"feeds[0].<<", "", "a merge key takes a mapping"}},
		},
		{
			name: "merge that refers to itself",
			yaml: "x-a: &a {<<: *a}\nfeeds:\n  - {<<: *a, id: a, url: 'https://a.example/'}\n",
			want: []Problem{{"feeds[0].<<", "", "too many or too deeply nested merge keys"}},
		},
		{
			name: "duplicate key",
			yaml: "poll:\n  interval: 5m\n  interval: 6m\n",
			want: []Problem{{"poll.interval", "", "duplicate key (first on line 2)"}},
		},
		{
			name: "replicas out of range",
			yaml: "nats:\n  replicas: 6\n",
			want: []Problem{{"nats.replicas", "6", "from 1 to 5"}},
		},
		{
			name: "max age below the duplicate window",
			yaml: "nats:\n  duplicate_window: 2h\n  max_age: 90m\n",
			want: []Problem{{"nats.max_age", "1h30m", "at least nats.duplicate_window (2h)"}},
		},
		{
			name: "bad stream name",
			yaml: "nats:\n  stream: articles.ar\n",
			want: []Problem{{"nats.stream", "articles.ar", "must not contain"}},
		},
		{
			name: "bad listen address",
			yaml: "http:\n  listen: localhost\n",
			want: []Problem{{"http.listen", "localhost", "host:port"}},
		},
		{
			name: "bad log level",
			yaml: "log:\n  level: verbose\n",
			want: []Problem{{"log.level", "verbose", "debug, info, warn or error"}},
		},
		{
			name:    "bad env duration",
			environ: []string{"FEEDD_POLL_INTERVAL=x"},
			want:    []Problem{{"FEEDD_POLL_INTERVAL", "x", "invalid duration"}},
		},
		{
			name:    "bad env size",
			environ: []string{"FEEDD_POLL_MAX_BODY=lots"},
			want:    []Problem{{"FEEDD_POLL_MAX_BODY", "lots", "invalid size"}},
		},
		{
			name:    "empty env duration",
			environ: []string{"FEEDD_POLL_TIMEOUT="},
			want:    []Problem{{"FEEDD_POLL_TIMEOUT", "", "must not be empty"}},
		},
		{
			name:    "unknown env variable",
			environ: []string{"FEEDD_POLL_INTERVALL=5m"},
			want:    []Problem{{"FEEDD_POLL_INTERVALL", "", "unknown variable (did you mean FEEDD_POLL_INTERVAL?)"}},
		},
		{
			name:    "feeds from env",
			environ: []string{"FEEDD_FEEDS=aljazeera"},
			want:    []Problem{{"FEEDD_FEEDS", "", "cannot be set from the environment"}},
		},
		{
			name:    "env value fails validation",
			environ: []string{"FEEDD_NATS_REPLICAS=0"},
			want:    []Problem{{"nats.replicas", "0", "from 1 to 5"}},
		},
		{
			name:    "bad NATS URL",
			environ: []string{"FEEDD_NATS_URL=http://user:pw@nats:4222"},
			want:    []Problem{{"nats.url", "http://user:xxxxx@nats:4222", `scheme "http"`}},
		},
		{
			name: "file and env problems together",
			yaml: "poll:\n  interval: ten\n",
			environ: []string{
				"FEEDD_POLL_TIMEOUT=soon",
				"FEEDD_NATS_STREAM=",
			},
			want: []Problem{
				{"poll.interval", "ten", "invalid duration"},
				{"FEEDD_POLL_TIMEOUT", "soon", "invalid duration"},
				{"nats.stream", "", "must not be empty"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.yaml != "" {
				path = writeConfig(t, tt.yaml)
			}
			cfg, err := Load(path, tt.environ)
			if err == nil {
				t.Fatalf("got no error, want %v", tt.want)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("got config %+v with the error, want the zero Config", cfg)
			}
			got := problemsOf(t, err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems:\n%v\nwant %d: %v", len(got), err, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.Key != w.Key || g.Value != w.Value || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("problem %d: got %s, want key %q, value %q, message containing %q", i, g, w.Key, w.Value, w.Msg)
				}
			}
		})
	}
}

// TestLoadSeveralProblems checks that one file with many problems gets them all, in order.
func TestLoadSeveralProblems(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "several_problems.yaml"), []string{"FEEDD_POLL_PER_HOST=two"})
	got := problemsOf(t, err)
	want := []string{
		`poll.interval: "ten": invalid duration`,
		`poll.intervall: unknown key (did you mean poll.interval?)`,
		`poll.max_body: "16XB": invalid size: unknown unit "XB" (use B, KiB, MiB, GiB, TiB or kB, MB, GB, TB)`,
		`feeds[2].lang: unknown key (did you mean language?)`,
		`FEEDD_POLL_PER_HOST: "two": invalid integer`,
		`nats.replicas: "9": must be from 1 to 5`,
		`feeds[0].id: "Al Jazeera": must match [a-z0-9_-]+`,
		`feeds[1].url: "/relative/feed.xml": must be an absolute http, https or file URL`,
		`feeds[1].interval: "-5m": must not be negative (0 uses poll.interval)`,
		`feeds[2].url: "ftp://example.org/feed.xml": scheme "ftp" is not http, https or file`,
		`feeds[3].id: "aljazeera": duplicate of feeds[1]`,
	}
	var lines []string
	for _, p := range got {
		lines = append(lines, p.String())
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if e := err.Error(); e != strings.Join(want, "\n") {
		t.Errorf("Error(): got\n%s\nwant one problem a line", e)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, []string{"FEEDD_POLL_INTERVAL=x"})
	got := problemsOf(t, err)
	if len(got) != 2 {
		t.Fatalf("got %d problems (%v), want the missing file and the bad variable", len(got), err)
	}
	if got[0].Key != "config" || !strings.Contains(got[0].Msg, "open "+path) || !strings.Contains(got[0].Msg, "no such file") {
		t.Errorf("got %s, want config: open %s: no such file or directory", got[0], path)
	}
	if got[1].Key != "FEEDD_POLL_INTERVAL" {
		t.Errorf("got %s, want the FEEDD_POLL_INTERVAL problem too", got[1])
	}
}

func TestLoadYAMLFeatures(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []Feed
	}{
		{
			name: "merge keys from an x- extension",
			yaml: "x-egypt: &egypt {language: ar-EG, interval: 15m, name: Egypt}\n" +
				"feeds:\n" +
				"  - {<<: *egypt, id: youm7, url: 'https://www.youm7.com/rss/SectionRss?SectionID=65', name: اليوم السابع}\n" +
				"  - <<: *egypt\n    id: masrawy\n    url: https://www.masrawy.com/rss/rssfeeds\n",
			want: []Feed{
				{ID: "youm7", URL: "https://www.youm7.com/rss/SectionRss?SectionID=65", Name: "اليوم السابع", Language: "ar-EG", Interval: 15 * time.Minute},
				{ID: "masrawy", URL: "https://www.masrawy.com/rss/rssfeeds", Name: "Egypt", Language: "ar-EG", Interval: 15 * time.Minute},
			},
		},
		{
			name: "alias of a whole feed list",
			yaml: "x-list: &l\n  - {id: a, url: 'file:///tmp/a.xml'}\nfeeds: *l\n",
			want: []Feed{{ID: "a", URL: "file:///tmp/a.xml", Name: "a", Language: "ar"}},
		},
		{
			name: "null keeps the default, also for feeds",
			yaml: "poll:\n  interval:\nfeeds:\n",
			want: DefaultFeeds(),
		},
		{
			name: "days and a localhost file URL",
			yaml: "feeds:\n  - {id: a, url: 'file://localhost/srv/a.xml', interval: 1.5d}\n",
			want: []Feed{{ID: "a", URL: "file://localhost/srv/a.xml", Name: "a", Language: "ar", Interval: 36 * time.Hour}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(writeConfig(t, tt.yaml), nil)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !reflect.DeepEqual(got.Feeds, tt.want) {
				t.Errorf("got feeds %+v, want %+v", got.Feeds, tt.want)
			}
			if got.Poll.Interval != Default().Poll.Interval {
				t.Errorf("poll.interval: got %v, want the default", got.Poll.Interval)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // problem keys; none means valid
	}{
		{"defaults", func(*Config) {}, nil},
		{"embedded NATS in-process, no ops listener", func(c *Config) { c.NATS.Listen, c.HTTP.Listen = "", "" }, nil},
		{"creds with the embedded server are ignored", func(c *Config) { c.NATS.Creds = "/nonexistent.creds" }, nil},
		{"NATS URL without scheme", func(c *Config) { c.NATS.URL = "nats-1:4222, nats-2:4222" }, nil},
		{"NATS URL list with a hole", func(c *Config) { c.NATS.URL = "nats://a:4222,,nats://b:4222" }, []string{"nats.url"}},
		{"upper-case log level", func(c *Config) { c.Log.Level, c.Log.Format = "DEBUG", "JSON" }, nil},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, []string{"log.format"}},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, []string{"data_dir"}},
		{"zero durations", func(c *Config) {
			c.ShutdownTimeout, c.Poll.Timeout, c.Dedupe.Window, c.NATS.DuplicateWindow = 0, 0, 0, 0
		}, []string{"shutdown_timeout", "nats.duplicate_window", "poll.timeout", "dedupe.window"}},
		{"zero max age", func(c *Config) { c.NATS.MaxAge = 0 }, []string{"nats.max_age"}},
		{"zero counts", func(c *Config) { c.Poll.Concurrency, c.Poll.PerHost, c.NATS.Replicas = 0, 0, 0 },
			[]string{"nats.replicas", "poll.concurrency", "poll.per_host"}},
		{"stream names", func(c *Config) { c.NATS.Stream = "A B" }, []string{"nats.stream"}},
		{"stream with a wildcard", func(c *Config) { c.NATS.Stream = "A>" }, []string{"nats.stream"}},
		{"port out of range", func(c *Config) { c.NATS.Listen = "127.0.0.1:70000" }, []string{"nats.listen"}},
		{"named port", func(c *Config) { c.HTTP.Listen = "localhost:http" }, []string{"http.listen"}},
		{"IPv6 listen", func(c *Config) { c.HTTP.Listen = "[::1]:9090" }, nil},
		{"negative max body", func(c *Config) { c.Poll.MaxBody = -1 }, []string{"poll.max_body"}},
		{"user agent with a newline", func(c *Config) { c.Poll.UserAgent = "feedd\r\nX-Evil: 1" }, []string{"poll.user_agent"}},
		{"no feeds", func(c *Config) { c.Feeds = nil }, []string{"feeds"}},
		{"empty cluster name", func(c *Config) { c.Cluster.Name = "" }, []string{"cluster.name"}},
		{"shortest lease", func(c *Config) { c.Cluster.LeaseTTL = time.Second }, nil},
		{"cluster mode on the embedded server", func(c *Config) { c.Cluster.Enabled = true }, []string{"cluster.enabled"}},
		{"cluster mode on a NATS cluster", func(c *Config) { c.Cluster.Enabled, c.NATS.URL = true, "nats://a:4222,nats://b:4222" }, nil},
		{"feed without language", func(c *Config) { c.Feeds = []Feed{{ID: "a", URL: "https://a.example/"}} }, []string{"feeds[0].language"}},
		{"feed language tags", func(c *Config) {
			c.Feeds = []Feed{
				{ID: "a", URL: "https://a.example/", Language: "ar-EG"},
				{ID: "b", URL: "https://b.example/", Language: "arabic"},
				{ID: "c", URL: "https://c.example/", Language: "AR"},
			}
		}, []string{"feeds[1].language", "feeds[2].language"}},
		{"file URL naming a host", func(c *Config) { c.Feeds = []Feed{{ID: "a", URL: "file://server/a.xml", Language: "ar"}} }, []string{"feeds[0].url"}},
		{"feed without URL", func(c *Config) { c.Feeds = []Feed{{ID: "a", Language: "ar"}} }, []string{"feeds[0].url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no problems", err)
				}
				return
			}
			var keys []string
			for _, p := range problemsOf(t, err) {
				keys = append(keys, p.Key)
			}
			if !slices.Equal(keys, tt.want) {
				t.Errorf("got problems at %v (%v), want at %v", keys, err, tt.want)
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{"with value", Problem{"feeds[2].id", "Al Jazeera", "must match [a-z0-9_-]+"}, `feeds[2].id: "Al Jazeera": must match [a-z0-9_-]+`},
		{"without value", Problem{"poll.intervall", "", "unknown key"}, "poll.intervall: unknown key"},
		{"arabic value stays readable", Problem{"feeds[0].language", "عربي", "must be a language tag"}, `feeds[0].language: "عربي": must be a language tag`},
		{"control characters are escaped", Problem{"poll.user_agent", "a\nb", "bad"}, `poll.user_agent: "a\nb": bad`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDefaultFeeds(t *testing.T) {
	feeds := DefaultFeeds()
	if len(feeds) < 15 {
		t.Errorf("got %d default feeds, want at least 15", len(feeds))
	}
	c := Default()
	c.Feeds = feeds
	if err := c.Validate(); err != nil {
		t.Fatalf("default feeds do not validate:\n%v", err)
	}
	seen := make(map[string]bool)
	hosts := make(map[string]string)
	for _, f := range feeds {
		if seen[f.ID] {
			t.Errorf("duplicate default feed id %q", f.ID)
		}
		seen[f.ID] = true
		if !strings.HasPrefix(f.URL, "https://") {
			t.Errorf("%s: got URL %q, want https", f.ID, f.URL)
		}
		if f.Name == "" || f.Name == f.ID || f.Language != "ar" {
			t.Errorf("%s: got name %q, language %q, want the outlet's Arabic name and ar", f.ID, f.Name, f.Language)
		}
		host := strings.SplitN(strings.TrimPrefix(f.URL, "https://"), "/", 2)[0]
		if other, dup := hosts[host]; dup {
			t.Errorf("%s and %s share the host %s: one feed per outlet", other, f.ID, host)
		}
		hosts[host] = f.ID
	}
	feeds[0].ID = "changed"
	if DefaultFeeds()[0].ID == "changed" {
		t.Error("DefaultFeeds returned shared storage: changing the result changed the next call's")
	}
}

// TestSettingsTable checks the one table against the struct and the environment names.
func TestSettingsTable(t *testing.T) {
	var paths []string
	collectYAMLPaths(reflect.TypeFor[Config](), "", &paths)
	var keys []string
	for _, s := range Settings() {
		keys = append(keys, s.Key)
		if want := "FEEDD_" + strings.ToUpper(strings.ReplaceAll(s.Key, ".", "_")); s.Env != want {
			t.Errorf("%s: got variable %s, want %s", s.Key, s.Env, want)
		}
		if s.Doc == "" {
			t.Errorf("%s: no documentation", s.Key)
		}
	}
	if !slices.Equal(keys, paths) {
		t.Errorf("table keys\n%v\ndiffer from the struct's yaml paths\n%v", keys, paths)
	}
	var feedPaths, feedKeys []string
	collectYAMLPaths(reflect.TypeFor[Feed](), "", &feedPaths)
	for _, f := range feedFields {
		feedKeys = append(feedKeys, f.key)
	}
	if !slices.Equal(feedKeys, feedPaths) {
		t.Errorf("feed table keys %v differ from Feed's yaml tags %v", feedKeys, feedPaths)
	}
}

// collectYAMLPaths lists the dotted yaml paths of the scalar fields of t, skipping lists.
func collectYAMLPaths(t reflect.Type, prefix string, out *[]string) {
	for f := range t.Fields() {
		tag := f.Tag.Get("yaml")
		if tag == "" {
			panic("field " + f.Name + " has no yaml tag")
		}
		path := prefix + tag
		switch {
		case f.Type.Kind() == reflect.Slice:
		case f.Type.Kind() == reflect.Struct:
			collectYAMLPaths(f.Type, path+".", out)
		default:
			*out = append(*out, path)
		}
	}
}

func TestLogSlogLevel(t *testing.T) {
	tests := []struct {
		level string
		want  string
	}{
		{"debug", "DEBUG"}, {"info", "INFO"}, {"WARN", "WARN"}, {"error", "ERROR"}, {"nonsense", "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			if got := (Log{Level: tt.level}).SlogLevel().String(); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDefaultUserAgent(t *testing.T) {
	tests := []struct {
		version, want string
	}{
		{"1.2.0", "feedd/1.2.0 (+https://github.com/feedd/feedd)"},
		{"", "feedd (+https://github.com/feedd/feedd)"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			if got := DefaultUserAgent(tt.version); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzLoadYAML(f *testing.F) {
	for _, name := range []string{"full.yaml", "several_problems.yaml", "invalid.yaml", "comments_only.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("x-a: &a {<<: *a}\nfeeds: [*a, *a]\n"))
	f.Add([]byte("feeds:\n  - {<<: [{id: a}, {url: 'file:///a'}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		ps := decodeYAML(&cfg, "fuzz.yaml", data)
		for _, p := range ps {
			if p.Key == "" || p.Msg == "" {
				t.Errorf("problem without key or message: %+v", p)
			}
		}
		_ = cfg.Validate()
	})
}
