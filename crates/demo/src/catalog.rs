//! The fixed inventory of the demo site: embedded originals, where each one is
//! served, and which edited copy of which reference goes where.
//!
//! Everything here is `const` so the ground truth can be read without starting
//! a server, and so a change to the site is a change to this one file.

/// An embedded image file shipped in `assets/`.
pub(crate) struct Embedded {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! embed {
    ($dir:literal, $name:literal) => {
        Embedded {
            name: $name,
            bytes: include_bytes!(concat!("../assets/", $dir, "/", $name)),
        }
    };
}

/// The client's artworks. `rose.png` is deliberately planted nowhere: it is the
/// true negative a correct pipeline must not report.
pub(crate) const REFERENCES: &[Embedded] = &[
    embed!("references", "astronaut.jpg"),
    embed!("references", "chelsea.jpg"),
    embed!("references", "coffee.jpg"),
    embed!("references", "rocket.jpg"),
    embed!("references", "butterfly.png"),
    embed!("references", "rose.png"),
];

pub(crate) const DISTRACTORS: &[Embedded] = &[
    embed!("distractors", "hubble-deep-field.jpg"),
    embed!("distractors", "camera.jpg"),
    embed!("distractors", "dragonfly.png"),
    embed!("distractors", "horse.png"),
    embed!("distractors", "brick-wall.jpg"),
    embed!("distractors", "grass.jpg"),
    embed!("distractors", "pineapple.png"),
    embed!("distractors", "strawberry.png"),
    embed!("distractors", "bison.png"),
    embed!("distractors", "clock.jpg"),
    embed!("distractors", "retina.jpg"),
    embed!("distractors", "ladybug.png"),
    embed!("distractors", "lizard.png"),
    embed!("distractors", "crawfish.png"),
];

/// URL path → distractor file, served byte-for-byte as committed.
pub(crate) const DISTRACTOR_ROUTES: &[(&str, &str)] = &[
    ("/img/hero/hubble-deep-field.jpg", "hubble-deep-field.jpg"),
    ("/img/gallery/camera.jpg", "camera.jpg"),
    ("/img/gallery/dragonfly.png", "dragonfly.png"),
    ("/img/gallery/horse.png", "horse.png"),
    ("/img/textures/brick-wall.jpg", "brick-wall.jpg"),
    ("/img/textures/grass.jpg", "grass.jpg"),
    ("/shop/img/pineapple.png", "pineapple.png"),
    ("/shop/img/strawberry.png", "strawberry.png"),
    ("/shop/img/bison.png", "bison.png"),
    ("/blog/2024/05/img/clock.jpg", "clock.jpg"),
    ("/forum/attachments/8799/retina.jpg", "retina.jpg"),
    ("/forum/avatars/ladybug.png", "ladybug.png"),
    ("/forum/avatars/lizard.png", "lizard.png"),
    ("/about/img/crawfish.png", "crawfish.png"),
];

pub(crate) const PAGE_HOME: &str = "/";
pub(crate) const PAGE_GALLERY: &str = "/gallery.html";
pub(crate) const PAGE_SHOP: &str = "/shop/";
pub(crate) const PAGE_BLOG: &str = "/blog/2024/05/launch-week.html";
pub(crate) const PAGE_FORUM: &str = "/forum/thread-1187.html";
pub(crate) const PAGE_LINKS: &str = "/about/links.html";

pub(crate) const PAGES: &[&str] = &[PAGE_HOME, PAGE_GALLERY, PAGE_SHOP, PAGE_BLOG, PAGE_FORUM, PAGE_LINKS];

/// How a planted copy is derived from its reference.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Edit {
    /// The reference file's bytes, unchanged.
    Exact,
    /// Same pixels, re-encoded as PNG with other settings (different bytes).
    PngReencode,
    /// Same pixels, re-encoded as lossless WebP.
    WebpLossless,
    /// Keep `percent` of the area; `fx`/`fy` place the window inside the slack
    /// (0 = left/top, 100 = right/bottom) so crops are not all centred.
    Crop {
        percent: u32,
        fx: u32,
        fy: u32,
    },
    Mirror,
    HueRotate(i32),
    /// RGB → BGR.
    ChannelSwap,
    /// Each side scaled to `percent` %.
    Downscale {
        percent: u32,
    },
    Jpeg {
        quality: u8,
    },
    /// Scaled to `percent` % of the host's area and composited onto it.
    PasteInto {
        host: &'static str,
        percent: u32,
        fx: u32,
        fy: u32,
    },
    /// Crop to 70 % of the area, mirror, rotate hue: several edits stacked.
    CropMirrorRecolour,
}

pub(crate) struct PlantSpec {
    pub reference: &'static str,
    pub asset_path: &'static str,
    pub page_path: &'static str,
    pub edit_name: &'static str,
    pub edit: Edit,
}

pub(crate) const PLANTS: &[PlantSpec] = &[
    // astronaut.jpg
    PlantSpec {
        reference: "astronaut.jpg",
        asset_path: "/img/gallery/eileen-portrait.jpg",
        page_path: PAGE_GALLERY,
        edit_name: "exact",
        edit: Edit::Exact,
    },
    PlantSpec {
        reference: "astronaut.jpg",
        asset_path: "/shop/img/astronaut-poster.jpg",
        page_path: PAGE_SHOP,
        edit_name: "crop-60",
        edit: Edit::Crop {
            percent: 60,
            fx: 30,
            fy: 60,
        },
    },
    PlantSpec {
        reference: "astronaut.jpg",
        asset_path: "/about/img/astro-press.jpg",
        page_path: PAGE_LINKS,
        edit_name: "jpeg-q25",
        edit: Edit::Jpeg { quality: 25 },
    },
    // chelsea.jpg
    PlantSpec {
        reference: "chelsea.jpg",
        asset_path: "/img/gallery/tabby-mirror.jpg",
        page_path: PAGE_GALLERY,
        edit_name: "mirror",
        edit: Edit::Mirror,
    },
    PlantSpec {
        reference: "chelsea.jpg",
        asset_path: "/forum/attachments/8815/cat-face.jpg",
        page_path: PAGE_FORUM,
        edit_name: "crop-35",
        edit: Edit::Crop {
            percent: 35,
            fx: 50,
            fy: 40,
        },
    },
    PlantSpec {
        reference: "chelsea.jpg",
        asset_path: "/img/thumbs/cat-small.jpg",
        page_path: PAGE_HOME,
        edit_name: "downscale-25",
        edit: Edit::Downscale { percent: 25 },
    },
    // coffee.jpg
    PlantSpec {
        reference: "coffee.jpg",
        asset_path: "/shop/img/espresso-mug.webp",
        page_path: PAGE_SHOP,
        edit_name: "webp-lossless",
        edit: Edit::WebpLossless,
    },
    PlantSpec {
        reference: "coffee.jpg",
        asset_path: "/blog/2024/05/img/cup-green.jpg",
        page_path: PAGE_BLOG,
        edit_name: "hue-rotate-90",
        edit: Edit::HueRotate(90),
    },
    PlantSpec {
        reference: "coffee.jpg",
        asset_path: "/img/gallery/wall-poster.jpg",
        page_path: PAGE_GALLERY,
        edit_name: "paste-30",
        edit: Edit::PasteInto {
            host: "brick-wall.jpg",
            percent: 30,
            fx: 35,
            fy: 25,
        },
    },
    // rocket.jpg
    PlantSpec {
        reference: "rocket.jpg",
        asset_path: "/blog/2024/05/img/launch-bgr.jpg",
        page_path: PAGE_BLOG,
        edit_name: "channel-swap",
        edit: Edit::ChannelSwap,
    },
    PlantSpec {
        reference: "rocket.jpg",
        asset_path: "/img/banners/launch-banner.jpg",
        page_path: PAGE_HOME,
        edit_name: "crop-mirror-recolour",
        edit: Edit::CropMirrorRecolour,
    },
    PlantSpec {
        reference: "rocket.jpg",
        asset_path: "/forum/attachments/8820/launch_thumb.jpg",
        page_path: PAGE_FORUM,
        edit_name: "downscale-25",
        edit: Edit::Downscale { percent: 25 },
    },
    // butterfly.png (RGBA clip art: the "logo" case)
    PlantSpec {
        reference: "butterfly.png",
        asset_path: "/shop/img/butterfly-logo.png",
        page_path: PAGE_SHOP,
        edit_name: "png-reencode",
        edit: Edit::PngReencode,
    },
    PlantSpec {
        reference: "butterfly.png",
        asset_path: "/forum/avatars/wings.png",
        page_path: PAGE_FORUM,
        edit_name: "exact",
        edit: Edit::Exact,
    },
    PlantSpec {
        reference: "butterfly.png",
        asset_path: "/blog/2024/05/img/garden-sticker.jpg",
        page_path: PAGE_BLOG,
        edit_name: "paste-30",
        edit: Edit::PasteInto {
            host: "grass.jpg",
            percent: 30,
            fx: 70,
            fy: 55,
        },
    },
];

pub(crate) fn reference(name: &str) -> Option<&'static Embedded> {
    REFERENCES.iter().find(|e| e.name == name)
}

pub(crate) fn distractor(name: &str) -> Option<&'static Embedded> {
    DISTRACTORS.iter().find(|e| e.name == name)
}

/// Content type from the URL path's extension; the site only serves these.
pub(crate) fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("css") => "text/css; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "text/html; charset=utf-8",
    }
}
