"""Checks of compare.py's table (run by `./run test`)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import table  # noqa: E402


def results(paste, headline, false_at_half):
    fam = {"uAP": 0.9, "recall_at_p99": paste,
           "thresholds": [{"threshold": 0.5, "recall": 0.8, "false": false_at_half}]}
    return {
        "results": {"xiezhi (calibrated score)": {"overall": {"uAP": 0.95, "recall_at_p99": headline}}},
        "without_known_derivatives": {"results": {"overall": dict(fam), "paste30": dict(fam)}},
    }


class Table(unittest.TestCase):
    def test_later_runs_show_their_change_from_the_first(self):
        lines = table([("a", results(0.828, 0.905, 17)), ("b", results(0.820, 0.905, 23))])
        self.assertEqual(lines[0], "| | a | b |")
        row = {line.split(" | ")[0].lstrip("| "): line for line in lines[2:]}
        self.assertIn("| 0.828 | 0.820 (-0.008) |", row["paste30 recall@P0.99"])
        self.assertIn("| 17 | 23 (+6) |", row["paste30 false alarms at score 0.5"])
        # Unchanged at the table's precision: no change shown.
        self.assertTrue(row["headline recall@P0.99"].endswith("| 0.905 | 0.905 |"))

    def test_a_family_only_one_run_has_is_a_dash_in_the_other(self):
        b = results(0.8, 0.9, 1)
        b["without_known_derivatives"]["results"]["combo"] = {"uAP": 0.7, "recall_at_p99": 0.74}
        lines = table([("a", results(0.8, 0.9, 1)), ("b", b)])
        self.assertIn("| combo recall@P0.99 | – | 0.740 |", lines)


if __name__ == "__main__":
    unittest.main()
