package extract_test

import (
	"fmt"
	"net/url"

	"github.com/feedd/feedd/extract"
)

func ExampleExtract() {
	page := []byte(`<html><head><title>Hospitals | Daily</title>
<meta property="article:published_time" content="2015-08-01T10:25:00+03:00"></head>
<body><nav><a href="/">Home</a> <a href="/local">Local</a></nav>
<article><h1>Ten new hospitals</h1>
<p>The ministry of health will open ten new hospitals in the northern regions next year, the minister said.</p>
<div class="share">Share: <a href="#">X</a></div></article>
<footer>All rights reserved</footer></body></html>`)
	u, _ := url.Parse("https://news.example/local/1.html")
	res, err := extract.Extract(page, u, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Title)
	fmt.Println(res.PublishedAt)
	fmt.Println(res.Text)
	// Output:
	// Ten new hospitals
	// 2015-08-01 07:25:00 +0000 UTC
	// The ministry of health will open ten new hospitals in the northern regions next year, the minister said.
}
