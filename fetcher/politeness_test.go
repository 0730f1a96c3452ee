package fetcher

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHeaderCacheFor(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := now.Add(-time.Hour) // the server's clock is an hour behind ours
	at := func(d time.Duration) string { return date.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name   string
		header map[string][]string
		want   time.Duration
	}{
		{name: "none", want: 0},
		{name: "max-age", header: map[string][]string{"Cache-Control": {"public, max-age=900"}}, want: 15 * time.Minute},
		{name: "quoted max-age", header: map[string][]string{"Cache-Control": {`max-age="600"`}}, want: 10 * time.Minute},
		{name: "upper case", header: map[string][]string{"Cache-Control": {"MAX-AGE=60"}}, want: time.Minute},
		{name: "two headers", header: map[string][]string{"Cache-Control": {"public", "max-age=120"}}, want: 2 * time.Minute},
		{name: "s-maxage ignored", header: map[string][]string{"Cache-Control": {"s-maxage=3600, max-age=60"}}, want: time.Minute},
		{name: "only s-maxage", header: map[string][]string{"Cache-Control": {"s-maxage=3600"}}, want: 0},
		{name: "no-cache", header: map[string][]string{"Cache-Control": {"no-cache, max-age=900"}}, want: 0},
		{name: "no-store beats expires", header: map[string][]string{"Cache-Control": {"no-store"}, "Expires": {at(time.Hour)}, "Date": {at(0)}}, want: 0},
		{name: "no-cache for one field", header: map[string][]string{"Cache-Control": {`no-cache="Set-Cookie", max-age=300`}}, want: 5 * time.Minute},
		{name: "bad max-age", header: map[string][]string{"Cache-Control": {"max-age=soon"}}, want: 0},
		{name: "negative max-age", header: map[string][]string{"Cache-Control": {"max-age=-5"}}, want: 0},
		{name: "huge max-age capped", header: map[string][]string{"Cache-Control": {"max-age=99999999999999999"}}, want: maxCacheFor},
		{name: "expires minus date", header: map[string][]string{"Expires": {at(30 * time.Minute)}, "Date": {at(0)}}, want: 30 * time.Minute},
		{name: "expires minus now", header: map[string][]string{"Expires": {now.Add(20 * time.Minute).Format(http.TimeFormat)}}, want: 20 * time.Minute},
		{name: "expires in the past", header: map[string][]string{"Expires": {at(-time.Minute)}, "Date": {at(0)}}, want: 0},
		{name: "expires zero", header: map[string][]string{"Expires": {"0"}}, want: 0},
		{name: "largest wins: expires", header: map[string][]string{"Cache-Control": {"max-age=60"}, "Expires": {at(time.Hour)}, "Date": {at(0)}}, want: time.Hour},
		{name: "largest wins: max-age", header: map[string][]string{"Cache-Control": {"max-age=7200"}, "Expires": {at(time.Hour)}, "Date": {at(0)}}, want: 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := headerCacheFor(http.Header(tt.header), now); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRSSTTL(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want time.Duration
	}{
		{name: "channel ttl", doc: `<rss><channel><ttl>60</ttl><item><title>x</title></item></channel></rss>`, want: time.Hour},
		{name: "spaces", doc: "<rss><channel><ttl >\n 15 \n</ttl></channel></rss>", want: 15 * time.Minute},
		{name: "none", doc: `<rss><channel><title>x</title></channel></rss>`, want: 0},
		{name: "inside an item only", doc: `<rss><channel><item><ttl>60</ttl></item></channel></rss>`, want: 0},
		{name: "not a number", doc: `<rss><channel><ttl>hour</ttl></channel></rss>`, want: 0},
		{name: "zero", doc: `<rss><channel><ttl>0</ttl></channel></rss>`, want: 0},
		{name: "huge capped", doc: `<rss><channel><ttl>999999999</ttl></channel></rss>`, want: maxCacheFor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rssTTL([]byte(tt.doc)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFetchCacheFor(t *testing.T) {
	withTTL := strings.Replace(rssFeed("", arabicTitle), "<description>test feed</description>", "<description>test feed</description><ttl>30</ttl>", 1)
	atomFeed := `<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>x</id><entry><title>a</title><id>1</id></entry></feed>`
	tests := []struct {
		name         string
		cacheControl string
		body         string
		want         time.Duration
	}{
		{name: "nothing", body: rssFeed("", arabicTitle), want: 0},
		{name: "ttl", body: withTTL, want: 30 * time.Minute},
		{name: "max-age over ttl", cacheControl: "max-age=3600", body: withTTL, want: time.Hour},
		{name: "ttl over max-age", cacheControl: "max-age=60", body: withTTL, want: 30 * time.Minute},
		{name: "no-store keeps ttl", cacheControl: "no-store", body: withTTL, want: 30 * time.Minute},
		{name: "atom max-age", cacheControl: "max-age=900", body: atomFeed, want: 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.cacheControl != "" {
					w.Header().Set("Cache-Control", tt.cacheControl)
				}
				feedHandler("application/xml", tt.body)(w, r)
			})
			res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if res.CacheFor != tt.want {
				t.Errorf("got CacheFor %v, want %v", res.CacheFor, tt.want)
			}
		})
	}

	t.Run("not modified", func(t *testing.T) {
		srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=900")
			w.WriteHeader(http.StatusNotModified)
		})
		res, err := New(Options{}).Fetch(t.Context(), Request{URL: srv.URL, ETag: `"v1"`})
		if err != nil {
			t.Fatal(err)
		}
		if !res.NotModified || res.CacheFor != 15*time.Minute {
			t.Errorf("got NotModified %v CacheFor %v, want true and 15m", res.NotModified, res.CacheFor)
		}
	})
}
