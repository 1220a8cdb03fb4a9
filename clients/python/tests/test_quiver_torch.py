"""QuiverIterableDataset against a real Quiver server (started by tests/clients/python.test.ts,
which passes QUIVER_URL, QUIVER_DATASET and QUIVER_ROWS). Run by Debian's /usr/bin/python3,
whose python3-torch provides torch."""

import os
import re
import unittest
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from quiver_torch import QuiverIterableDataset, QuiverStreamError

URL = os.environ["QUIVER_URL"]
TOKEN = os.environ.get("QUIVER_TOKEN")
NAME = os.environ["QUIVER_DATASET"]
ROWS = int(os.environ["QUIVER_ROWS"])
REPO = Path(__file__).resolve().parents[3]


def ids(batches):
    return [int(i) for b in batches for i in b["row_id"]]


class QuiverIterableDatasetTest(unittest.TestCase):
    def make(self, **kw):
        opts = dict(columns=["prompt", "rating"], batch_rows=4, shuffle_seed=7, block_rows=4)
        opts.update(kw)
        return QuiverIterableDataset(URL, dataset=NAME, token=TOKEN, **opts)

    def test_ranks_and_workers_together_yield_every_row_once_with_equal_batch_counts(self):
        seen, counts = [], []
        for rank in range(2):
            ds = self.make(rank=rank, world_size=2, remainder="drop")
            batches = list(DataLoader(ds, batch_size=None, num_workers=2))
            counts.append(len(batches))
            self.assertEqual(len(batches), len(ds))
            seen += ids(batches)
        self.assertEqual(counts[0], counts[1])
        self.assertEqual(len(seen), len(set(seen)))
        self.assertGreater(len(seen), ROWS - 4 * 2)

    def test_the_order_does_not_depend_on_the_number_of_workers(self):
        one = [b["_index"] for b in DataLoader(self.make(), batch_size=None, num_workers=0)]
        two = [b["_index"] for b in DataLoader(self.make(), batch_size=None, num_workers=2)]
        self.assertEqual(one, two)
        self.assertEqual(ids(DataLoader(self.make(), batch_size=None, num_workers=0)), ids(DataLoader(self.make(), batch_size=None, num_workers=2)))

    def test_epochs_differ_and_repeat(self):
        ds = self.make()
        first = ids(ds)
        self.assertEqual(ids(ds), first)
        ds.set_epoch(1)
        self.assertNotEqual(ids(ds), first)
        self.assertEqual(set(ids(ds)), set(first))

    def test_resuming_from_the_last_consumed_batch_yields_exactly_the_rest(self):
        full = [ids([b]) for b in DataLoader(self.make(), batch_size=None, num_workers=2)]
        loader = iter(DataLoader(self.make(), batch_size=None, num_workers=2))
        seen = [next(loader) for _ in range(3)]
        del loader
        rest = [ids([b]) for b in DataLoader(self.make(resume=seen[-1]["_cursor"]), batch_size=None, num_workers=2)]
        self.assertEqual([ids([b]) for b in seen] + rest, full)

    def test_columns_come_as_tensors_and_text_as_lists(self):
        b = next(iter(self.make(columns=["image", "prompt", "rating", "score"], decode={"image": {"width": 8, "height": 6, "layout": "chw"}})))
        self.assertEqual(tuple(b["image"].shape), (4, 3, 6, 8))
        self.assertEqual(b["image"].dtype, torch.uint8)
        self.assertEqual(b["rating"].dtype, torch.int32)
        self.assertEqual(b["score"].dtype, torch.float64)
        self.assertTrue(all(isinstance(p, str) and p.startswith("p") for p in b["prompt"]))
        # The fixture's red channel is the row number (prompt p<n>) mod 256.
        for k, p in enumerate(b["prompt"]):
            self.assertEqual(int(b["image"][k, 0, 0, 0]), int(p[1:]) % 256)

    def test_bad_input_raises_the_servers_typed_error(self):
        with self.assertRaises(QuiverStreamError) as e:
            self.make(columns=["nope"])
        self.assertEqual(e.exception.code, "not_found")
        with self.assertRaises(QuiverStreamError) as e:
            list(self.make(where="rating >>>= 1"))
        self.assertEqual(e.exception.code, "invalid_sql")

    def test_the_pytorch_example_of_docs_training_md_runs(self):
        blocks = re.findall(r"^```python\n(.*?)^```", (REPO / "docs/training.md").read_text(), re.M | re.S)
        self.assertTrue(blocks)
        for code in blocks:
            code = code.replace("http://localhost:7700", URL).replace('dataset="gen"', f'dataset="{NAME}"')
            exec(compile(code, "docs/training.md", "exec"), {"__name__": "docs_example"})


if __name__ == "__main__":
    unittest.main()
