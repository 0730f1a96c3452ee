// Package extract turns one article page into its main text. It fetches the page (Fetcher:
// robots.txt, one deadline, a bounded body after decompression, bounded redirects, charset to
// UTF-8, the private-network guard and the proxy of the environment) and finds its main text and
// metadata (Extract: a general extractor plus per-site rules as data). It knows nothing of
// feeds, duplicates or NATS.
//
// Every fetch failure is an *Error whose Reason the caller counts and whose Transient says
// whether one more try within the poll is worth it; ReasonOf extracts the Reason.
package extract
