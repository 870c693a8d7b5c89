//! The HTML of the demo site.
//!
//! Links and `src` attributes deliberately mix relative (`img/x.jpg`,
//! `../../../`), root-relative (`/shop/`) and absolute (`http://127.0.0.1:PORT/…`)
//! forms, plus an off-site link, a dead link, a `mailto:` and a fragment, so a
//! crawler is exercised on every way a real page refers to things.
//! `base` is the site's own URL with a trailing slash.

use crate::catalog::{PAGE_BLOG, PAGE_FORUM, PAGE_GALLERY, PAGE_HOME, PAGE_LINKS, PAGE_SHOP};

pub(crate) const ROBOTS_TXT: &str = "User-agent: *\nAllow: /\n";

pub(crate) const SITE_CSS: &str = "body { font-family: sans-serif; max-width: 60em; margin: auto; }\n\
img { max-width: 100%; height: auto; }\n\
.grid { display: flex; flex-wrap: wrap; gap: 1em; }\n\
figure { margin: 0; }\n";

/// `(path, html)` for every page.
pub(crate) fn all(base: &str) -> Vec<(&'static str, String)> {
    vec![
        (PAGE_HOME, home(base)),
        (PAGE_GALLERY, gallery(base)),
        (PAGE_SHOP, shop(base)),
        (PAGE_BLOG, blog(base)),
        (PAGE_FORUM, forum(base)),
        (PAGE_LINKS, links(base)),
    ]
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"/static/site.css\">\n</head>\n"
    )
}

fn home(base: &str) -> String {
    format!(
        r##"{head}<body id="top">
<header>
<h1>PixelBazaar</h1>
<p>Prints, posters and wallpapers — fresh uploads every day from our community.</p>
<nav>
<a href="gallery.html">Gallery</a> |
<a href="/shop/">Shop</a> |
<a href="{base}blog/2024/05/launch-week.html">Blog</a> |
<a href="forum/thread-1187.html">Forum</a> |
<a href="about/links.html">Friends &amp; links</a>
</nav>
</header>
<main>
<img src="/img/hero/hubble-deep-field.jpg" alt="Thousands of galaxies in deep space" width="480" height="419">
<h2>Launch week banner</h2>
<img src="{base}img/banners/launch-banner.jpg" alt="Rocket on the pad at night, banner">
<p>This week we celebrate everything that flies. Browse the <a href="gallery.html#new">newest uploads</a>
or grab a poster in the <a href="/shop/">shop</a>.</p>
<h2>Trending</h2>
<div class="grid">
<figure><a href="gallery.html"><img src="img/thumbs/cat-small.jpg" alt="Tabby cat thumbnail"></a>
<figcaption>Cat portrait — 2.3k likes</figcaption></figure>
<figure><a href="/shop/"><img src="/shop/img/pineapple.png" alt="Pineapple sticker"></a>
<figcaption>Pineapple sticker</figcaption></figure>
</div>
</main>
<footer><a href="#top">Back to top</a> · © PixelBazaar</footer>
</body>
</html>
"##,
        head = head("PixelBazaar — community prints and posters")
    )
}

fn gallery(base: &str) -> String {
    format!(
        r##"{head}<body>
<nav><a href="/">Home</a> | <a href="{base}shop/">Shop</a> | <a href="forum/thread-1187.html">Forum</a></nav>
<h1>Gallery</h1>
<p>Member uploads, newest first. Click a picture to see it full size.</p>
<div class="grid" id="new">
<figure><img src="img/gallery/eileen-portrait.jpg" alt="Astronaut portrait in orange flight suit">
<figcaption>“Commander” by user stardust_88</figcaption></figure>
<figure><img src="img/gallery/camera.jpg" alt="Man with a camera on a tripod, black and white">
<figcaption>Street photographer</figcaption></figure>
<figure><img src="img/gallery/tabby-mirror.jpg" alt="Close-up of a tabby cat">
<figcaption>My cat Mochi (original work, do not repost!)</figcaption></figure>
<figure><img src="/img/gallery/dragonfly.png" alt="Blue dragonfly illustration">
<figcaption>Dragonfly vector</figcaption></figure>
<figure><img src="/img/gallery/wall-poster.jpg" alt="Coffee poster on a brick wall">
<figcaption>Café mural mock-up</figcaption></figure>
<figure><img src="{base}img/gallery/horse.png" alt="Black horse silhouette">
<figcaption>Horse silhouette</figcaption></figure>
<figure><img src="/img/textures/brick-wall.jpg" alt="Grey brick wall texture">
<figcaption>Free texture: bricks</figcaption></figure>
</div>
</body>
</html>
"##,
        head = head("Gallery — PixelBazaar")
    )
}

fn shop(base: &str) -> String {
    format!(
        r##"{head}<body>
<nav><a href="../">Home</a> | <a href="../gallery.html">Gallery</a> | <a href="/about/links.html">Links</a></nav>
<h1>Shop</h1>
<p>All prints ship rolled in a tube. Free shipping on orders over $40.</p>
<div class="grid">
<figure><img src="img/astronaut-poster.jpg" alt="Astronaut poster, A2">
<figcaption>Astronaut poster, A2 — $24.90</figcaption></figure>
<figure><img src="img/pineapple.png" alt="Pineapple sticker">
<figcaption>Pineapple sticker — $2.50</figcaption></figure>
<figure><img src="/shop/img/espresso-mug.webp" alt="Espresso cup on a saucer">
<figcaption>“Morning espresso” canvas — $39.00</figcaption></figure>
<figure><img src="img/strawberry.png" alt="Strawberry sticker">
<figcaption>Strawberry sticker — $2.50</figcaption></figure>
<figure><img src="{base}shop/img/butterfly-logo.png" alt="Swallowtail butterfly logo">
<figcaption>Butterfly logo T-shirt — $19.00</figcaption></figure>
<figure><img src="img/bison.png" alt="Cartoon bison">
<figcaption>Bison mascot patch — $6.00</figcaption></figure>
</div>
</body>
</html>
"##,
        head = head("Shop — PixelBazaar")
    )
}

fn blog(base: &str) -> String {
    format!(
        r##"{head}<body>
<nav><a href="../../../">Home</a> | <a href="/forum/thread-1187.html">Forum</a> | <a href="{base}gallery.html">Gallery</a></nav>
<article>
<h1>Launch week: our favourite uploads</h1>
<p class="meta">Posted 14 May 2024 by the PixelBazaar team</p>
<p>Every May we round up the space, coffee and garden pictures our members loved most.
This year the launch photos stole the show, with a green remix of a classic café shot close behind.</p>
<img src="img/launch-bgr.jpg" alt="Rocket launch pad with blue-tinted lights">
<p>Night launches are hard to photograph: long exposures, floodlights, and a lot of waiting.</p>
<img src="img/cup-green.jpg" alt="Green coffee cup on a saucer">
<p>Our barista series continues. Below, a clock that was moving a little too fast for the shutter.</p>
<img src="img/clock.jpg" alt="Motion-blurred wall clock">
<h2>本周精选</h2>
<p lang="zh">本周我们精选了社区成员上传的太空、咖啡和花园主题图片。夜间发射的火箭照片最受欢迎，
一张绿色调的咖啡杯作品紧随其后。所有作品均可在商店中以海报形式购买，欢迎在论坛留言讨论。</p>
<img src="/blog/2024/05/img/garden-sticker.jpg" alt="Butterfly sticker on a lawn">
<img src="../../../img/hero/hubble-deep-field.jpg" alt="Deep field of galaxies">
<p>Comments are closed; join the <a href="../../../forum/thread-1187.html">forum thread</a> instead.</p>
</article>
</body>
</html>
"##,
        head = head("Launch week: our favourite uploads — PixelBazaar blog")
    )
}

fn forum(base: &str) -> String {
    format!(
        r##"{head}<body>
<nav><a href="/">Home</a> | <a href="../blog/2024/05/launch-week.html">Blog</a></nav>
<h1>Thread #1187: post your best cat and rocket pics</h1>
<div class="post">
<img src="/forum/avatars/wings.png" alt="avatar of user wingsofsilk" width="64" height="64">
<p><b>wingsofsilk</b> wrote: Found this cat face on some wallpaper site, isn't it cute?</p>
<img src="attachments/8815/cat-face.jpg" alt="Cat face close-up">
</div>
<div class="post">
<img src="avatars/ladybug.png" alt="avatar of user dotty" width="64" height="64">
<p><b>dotty</b> wrote: Not a cat, but here is my eye exam from last week, lol.</p>
<img src="attachments/8799/retina.jpg" alt="Photo of a retina">
</div>
<div class="post">
<img src="{base}forum/avatars/lizard.png" alt="avatar of user gecko" width="64" height="64">
<p><b>gecko</b> wrote: Launch thumbnail, full size in the <a href="/gallery.html">gallery</a>.</p>
<img src="{base}forum/attachments/8820/launch_thumb.jpg" alt="Small rocket launch thumbnail">
<p>And a texture I use as background:</p>
<img src="/img/textures/grass.jpg" alt="Grass texture">
</div>
</body>
</html>
"##,
        head = head("Post your best cat and rocket pics — PixelBazaar forum")
    )
}

fn links(base: &str) -> String {
    format!(
        r##"{head}<body>
<nav><a href="{base}">Home</a> | <a href="../shop/">Shop</a></nav>
<h1>Friends &amp; links</h1>
<p>Partner sites we like. External links open other websites.</p>
<ul>
<li><a href="http://example.invalid/">Example partner gallery</a></li>
<li><a href="http://example.invalid/press/kit.html">Partner press kit</a></li>
<li><a href="/gallery-2019.html">Our old 2019 gallery (archived)</a></li>
<li><a href="mailto:press@pixelbazaar.invalid">Press contact</a></li>
</ul>
<h2>Press</h2>
<img src="img/astro-press.jpg" alt="Astronaut portrait used in our press release">
<img src="img/crawfish.png" alt="Red crawfish illustration">
<img src="/img/textures/grass.jpg" alt="Grass texture">
</body>
</html>
"##,
        head = head("Friends &amp; links — PixelBazaar")
    )
}
