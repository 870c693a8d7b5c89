"""Checks of the benchmark's selection rules (run by `./run test`)."""
import os
import sys
import tempfile
import unittest

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import (  # noqa: E402
    changed_share, is_blank, known_derivatives, kinship, related_reference_keys, paste_into, same_artwork_ids,
    source_of)


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


if __name__ == "__main__":
    unittest.main()
