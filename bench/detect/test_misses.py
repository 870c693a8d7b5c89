"""Checks of misses.py's cut-off (run by `./run test`)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from misses import cut_off  # noqa: E402


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


if __name__ == "__main__":
    unittest.main()
