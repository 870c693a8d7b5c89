"""Checks of the benchmark's selection rules (run by `./run test`)."""
import os
import sys
import tempfile
import unittest

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import (  # noqa: E402
    changed_share, is_blank, known_derivatives, kinship, make_edits, opaque_box, related_reference_keys, paste_into,
    same_artwork_ids, source_of, ALL_FAMILIES)


def ref(rel, sha):
    source, group = source_of(rel)
    return {"rel": rel, "sha256": sha, "source": source, "group": group}


class RelatedReferencesShareTheirSplit(unittest.TestCase):
    def test_group_and_kin_join_transitively_and_strangers_stay_apart(self):
        maps = "usr/share/games/hedgewars/Data/Maps/"
        refs = [
            ref(maps + "Cheese/map.png", "c3"),
            ref(maps + "Cheese/preview.png", "a1"),  # same folder: same group
            ref(maps + "Bath/preview.png", "f9"),  # kin of Cheese/preview.png
            ref(maps + "Bath/map.png", "b2"),  # same group as Bath/preview.png
            ref("usr/share/stellarium/nebulae/default/m42.png", "e5"),
            ref("usr/share/stellarium/nebulae/default/m31.png", "d4"),
        ]
        keys = related_reference_keys(refs)
        joined = {keys[r["rel"]] for r in refs[:4]}
        self.assertEqual(joined, {"a1"}, "one key, the smallest SHA-256 of the set")
        # Photos are each their own group and share no kin: each keeps its own key.
        self.assertEqual(keys[refs[4]["rel"]], "e5")
        self.assertEqual(keys[refs[5]["rel"]], "d4")

    def test_locales_of_one_screen_are_kin(self):
        a = "usr/share/games/wesnoth/1.16/data/core/images/help/l10n/es/hpxp.png"
        b = "usr/share/games/wesnoth/1.16/data/core/images/help/l10n/fr/hpxp.png"
        c = "usr/share/games/wesnoth/1.16/data/core/images/help/l10n/fr/recruit.png"
        self.assertTrue(kinship(a) & kinship(b))
        self.assertFalse(kinship(a) & kinship(c))
        keys = related_reference_keys([ref(a, "2"), ref(b, "1"), ref(c, "3")])
        # fr/recruit.png joins through its folder (the group of fr/hpxp.png).
        self.assertEqual(set(keys.values()), {"1"})


class SameArtwork(unittest.TestCase):
    def test_a_hedgewars_map_and_its_preview_but_not_its_mask_nor_knockball(self):
        maps = "usr/share/games/hedgewars/Data/Maps/"
        refs = [ref(maps + r, str(i)) for i, r in enumerate([
            "Bath/map.png", "Bath/mask.png", "Bath/preview.png", "Cheese/preview.png",
            "Knockball/map.png", "Knockball/preview.png"])]
        self.assertEqual(same_artwork_ids(refs), [[2], [], [0], [], [], []])

    def test_a_known_derivative_drawn_as_a_reference_is_the_same_artwork_and_split(self):
        copy, (original, _) = sorted(known_derivatives().items())[0]
        stranger = "usr/share/stellarium/nebulae/default/m42.png"
        refs = [ref("usr/share/" + original, "b"), ref(stranger, "c"), ref("usr/share/" + copy, "d")]
        self.assertEqual(same_artwork_ids(refs), [[2], [], [0]])
        keys = related_reference_keys(refs)
        self.assertEqual(keys[refs[2]["rel"]], "b")


class BlankPictures(unittest.TestCase):
    def test_transparent_or_one_colour_is_blank_a_faint_cloud_or_a_thin_line_is_not(self):
        with tempfile.TemporaryDirectory() as d:
            def saved(name, im):
                path = os.path.join(d, name)
                im.save(path)
                return path

            self.assertTrue(is_blank(saved("placeholder.png", Image.new("RGBA", (126, 144), (0, 0, 0, 0)))))
            self.assertTrue(is_blank(saved("blue.png", Image.new("RGB", (300, 200), (30, 90, 200)))))
            cloud = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
            cloud.paste((255, 255, 255, 28), (30, 40, 130, 120))
            self.assertFalse(is_blank(saved("cloud.png", cloud)))
            line = Image.new("RGBA", (72, 72), (0, 0, 0, 0))
            line.paste((250, 250, 0, 255), (0, 36, 72, 37))
            self.assertFalse(is_blank(saved("line.png", line)))


class PasteChangeShare(unittest.TestCase):
    def test_a_sprite_pasted_with_its_canvas_changes_only_its_opaque_share(self):
        import random
        scene = Image.new("RGBA", (400, 400), (20, 20, 30, 255))
        sprite = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
        sprite.paste((250, 250, 250, 255), (0, 0, 50, 100))  # half the canvas opaque
        pasted = paste_into(sprite, scene, 0.30, random.Random(1))
        self.assertAlmostEqual(changed_share(pasted, scene), 0.15, delta=0.01)
        # The same sprite in the scene's own colour changes nothing: it cannot be seen.
        dark = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
        dark.paste((22, 20, 30, 255), (0, 0, 50, 100))
        self.assertEqual(changed_share(paste_into(dark, scene, 0.30, random.Random(1)), scene), 0.0)
        self.assertIsNone(changed_share(Image.new("RGB", (10, 10)), scene))

    def test_the_artwork_cut_to_its_visible_pixels_covers_30_percent(self):
        import random
        scene = Image.new("RGBA", (400, 400), (20, 20, 30, 255))
        sprite = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
        sprite.paste((250, 250, 250, 255), (10, 20, 60, 70))  # a quarter of the canvas
        sprite.putpixel((95, 95), (250, 250, 250, 3))  # faint haze does not widen the box
        self.assertEqual(opaque_box(sprite).size, (50, 50))
        pasted = paste_into(opaque_box(sprite), scene, 0.30, random.Random(1))
        self.assertAlmostEqual(changed_share(pasted, scene), 0.30, delta=0.01)
        # A picture without transparency is pasted whole, as before.
        photo = Image.new("RGBA", (80, 60), (200, 10, 10, 255))
        self.assertIs(opaque_box(photo), photo)


class EditsOfOneReference(unittest.TestCase):
    def test_both_pastes_draw_one_position_and_only_the_canvas_paste_advances_the_edits(self):
        """The content paste came with session 18; the edits drawn after the paste (rot10,
        combo) and the canvas paste must stay as the recipe made them before."""
        import random
        import prepare
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for name, size, bg in (("ref.png", (120, 90), (0, 0, 0, 0)), ("logo.png", (40, 40), (0, 0, 0, 0)),
                                   ("scene.png", (500, 420), (30, 60, 90, 255)), ("photo.png", (120, 90), (9, 9, 9, 255))):
                im = Image.new("RGBA", size, bg)
                im.paste((200, 120, 40, 255), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
                im.save(os.path.join(d, name))
                paths.append(os.path.join(d, name))
            ref, logo, scene, photo = paths

            class NoAugly:  # AugLy's edits are not what this test is about
                def __getattr__(self, _):
                    return lambda im, **kw: im.copy()

            calls = []
            original = prepare.paste_into

            def spy(im, sc, area, r):
                calls.append((r, r.getstate(), im.size))
                return original(im, sc, area, r)

            prepare.paste_into = spy
            try:
                rng = random.Random(7)
                out = prepare.make_edits(NoAugly(), ref, logo, scene, rng)
                opaque = prepare.make_edits(NoAugly(), photo, logo, scene, random.Random(7))
            finally:
                prepare.paste_into = original
        self.assertEqual(sorted(out), sorted(ALL_FAMILIES))
        (canvas_rng, canvas_state, canvas_size), (content_rng, content_state, content_size) = calls[:2]
        self.assertIs(canvas_rng, rng, "the canvas paste draws from the edits' own generator")
        self.assertIsNot(content_rng, rng, "the content paste draws from a copy")
        self.assertEqual(canvas_state, content_state, "from the same state: the same draws")
        self.assertEqual((canvas_size, content_size), ((120, 90), (30, 23)))
        # Without transparency the artwork is the whole picture: the two pastes are one image.
        self.assertEqual(opaque["paste30"][0].tobytes(), opaque["paste30-canvas"][0].tobytes())


if __name__ == "__main__":
    unittest.main()
