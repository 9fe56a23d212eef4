"""Three saved web pages of different layouts, written by the tests that use them (not real outlets' pages)."""

from __future__ import annotations

ARTICLE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Harbour bridge reopens after repairs | The Coastal Herald</title>
<meta property="og:site_name" content="The Coastal Herald">
<meta property="og:title" content="Harbour bridge reopens after two years of repairs">
<meta name="author" content="Mara Lindqvist">
<meta property="article:published_time" content="2025-09-14T08:30:00+02:00">
<link rel="canonical" href="https://coastalherald.example/news/harbour-bridge-reopens">
</head><body>
<header><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li></ul></nav></header>
<div class="ad">Advertisement: Buy the new Zephyr phone today, 40% off!</div>
<main><article>
<h1>Harbour bridge reopens after two years of repairs</h1>
<p class="byline">By Mara Lindqvist</p>
<p>The Kestrel Harbour bridge reopened to traffic on Sunday morning after two years of repairs that cost the city
84 million euros, the transport department said.</p>
<p>Mayor Ingrid Solberg cut the ribbon at 9 a.m. and said the crossing would carry about 31,000 vehicles a day,
easing congestion on the ring road that had doubled commute times for many residents.</p>
<p>Engineers replaced all 212 steel cables and resurfaced the deck with a lighter composite, chief engineer Tomas
Berg told reporters. The bridge first opened in 1961.</p>
<p>Cyclists will get a separate lane from October, the department added, after a petition signed by 12,400 people.</p>
</article></main>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Ferry prices rise again</a></li>
<li><a href="/b">Ring road works delayed</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments (3)</h3>
<div class="comment"><p>Finally! I have been waiting for this forever, the ferry is a nightmare.</p></div>
<div class="comment"><p>84 million is a scandal, who approved this budget?</p></div>
</section>
<footer><p>© 2025 The Coastal Herald. All rights reserved. Privacy policy. Cookie settings.</p></footer>
</body></html>
"""

JSON_LD_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Glacier retreat doubles | Alpine Wire</title>
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Glacier retreat doubled in a decade, survey finds",
 "datePublished": "2024-03-02T10:00:00Z", "dateModified": "2024-03-05T12:00:00Z",
 "author": {"@type": "Person", "name": "Luca Brenner"},
 "publisher": {"@type": "Organization", "name": "Alpine Wire"}}
</script></head>
<body><div id="menu"><a href="/">Alpine Wire</a> | <a href="/climate">Climate</a>
| <a href="/subscribe">Subscribe</a></div>
<div class="content"><div class="story">
<p>The Morteratsch glacier lost 3.1 square kilometres of ice between 2014 and 2024, twice the loss of the previous
decade, a survey by the Swiss Glacier Monitoring Network found.</p>
<p>Researchers measured the glacier's tongue with drones every autumn. Its front retreated by 41 metres last year
alone, the largest annual loss since records began in 1878.</p>
<p>The survey's lead author, hydrologist Anja Keller, said meltwater now feeds the Inn river three weeks earlier in
spring than it did in the 1990s.</p>
</div></div>
<div class="footer">Newsletter: sign up for our weekly climate briefing.</div>
</body></html>
"""

NO_ARTICLE_PAGE = """<!DOCTYPE html><html><head><title>Page not found | The Coastal Herald</title></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav><h1>404</h1>
<p>Sorry, we could not find that page.</p><footer>© 2025 The Coastal Herald</footer></body></html>
"""

ARTICLE_WORDS = ("Kestrel Harbour bridge reopened", "31,000 vehicles", "212 steel cables", "12,400 people")
PAGE_NOISE = (
    "Advertisement",
    "Zephyr",
    "Home",
    "Related stories",
    "Ferry prices",
    "Comments",
    "nightmare",
    "scandal",
    "All rights reserved",
    "Cookie",
)


def page_for(title: str, paragraphs: list[str], *, outlet: str, date: str) -> str:
    """A page in the first layout around other words (the feed and throughput tests serve many)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta property="og:site_name" content="{outlet}">'
        f'<meta property="article:published_time" content="{date}T07:00:00Z"></head><body>'
        '<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>'
        '<div class="ad">Advertisement: subscribe for 1 euro a week</div>'
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        '<section class="comments"><p>First comment: great story, thanks for sharing it with us all.</p></section>'
        "<footer>All rights reserved.</footer></body></html>"
    )
