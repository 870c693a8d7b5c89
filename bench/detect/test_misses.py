"""Checks of misses.py's cut-off (run by `./run test`)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from misses import cut_off, recall_without_faint_references  # noqa: E402


class CutOffAtPrecision99(unittest.TestCase):
    def test_lowest_logit_with_precision_099_at_the_best_recall(self):
        # 198 copies above one false alarm keep precision 0.995; the copy below it is
        # found only down to its logit, where precision is still 199/200.
        preds = [(10.0 - i * 0.01, True) for i in range(198)] + [(5.0, False), (4.0, True), (3.0, False)]
        recall, cut = cut_off(preds, 200)
        self.assertAlmostEqual(recall, 199 / 200)
        self.assertEqual(cut, 4.0)

    def test_ties_count_as_one_block(self):
        # A false alarm tied with the only copy: precision 1/2 at that logit, so nothing is found.
        self.assertEqual(cut_off([(2.0, True), (2.0, False)], 1), (0.0, None))

    def test_nothing_found_without_copies_above_false_alarms(self):
        self.assertEqual(cut_off([(9.0, False), (1.0, True)], 1), (0.0, None))


class RecallWithoutFaintReferences(unittest.TestCase):
    def test_faint_references_leave_with_their_copies_and_every_unrelated_image_stays(self):
        # Reference "a" is 2 % visible and its copy is missed; "b" and "c" are fully
        # visible and found, "c" below an unrelated image that scores 5.
        queries = {
            "qa": {"id": "qa", "reference": "a", "copy_of": {"a"}},
            "qb": {"id": "qb", "reference": "b", "copy_of": {"b"}},
            "qc": {"id": "qc", "reference": "c", "copy_of": {"c"}},
            "d1": {"id": "d1", "reference": None, "copy_of": set()},
        }
        best = {"qa": (-3.0, "b"), "qb": (9.0, "b"), "qc": (4.0, "c"), "d1": (5.0, "a")}
        shares = {"a": 0.02, "b": 1.0, "c": 1.0}
        rows = recall_without_faint_references(queries, best, shares.get, floors=[0.0, 0.05])
        # All drawn: only "b" is above the unrelated image (precision 1/1), so 1 of 3.
        self.assertEqual(rows[0], (0.0, 3, 1 / 3, 9.0, 2))
        # Without "a": still 1 of 2 at precision 0.99; the unrelated image stays.
        self.assertEqual(rows[1], (0.05, 2, 1 / 2, 9.0, 2))

    def test_a_floor_above_every_reference_keeps_no_copies(self):
        queries = {"qa": {"id": "qa", "reference": "a", "copy_of": {"a"}}}
        rows = recall_without_faint_references(queries, {"qa": (1.0, "a")}, {"a": 0.1}.get, floors=[0.5])
        self.assertEqual(rows, [(0.5, 0, 0.0, None, 0)])


if __name__ == "__main__":
    unittest.main()
