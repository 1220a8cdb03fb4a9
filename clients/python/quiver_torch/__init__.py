"""PyTorch access to a Quiver branch over HTTP: `QuiverIterableDataset`.

Each DataLoader worker of each rank asks the server for its own share of the epoch (rank and
world from the arguments, else torch.distributed, else the RANK / WORLD_SIZE environment), so
every row passing `where` comes once per epoch across ranks and workers, in an order set by
(version, shuffle_seed, epoch) alone. Uses only the standard library, numpy and torch.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .frames import QuiverStreamError, read_frames

__all__ = ["QuiverIterableDataset", "QuiverStreamError"]


def _rank_world(rank, world_size):
    if rank is not None and world_size is not None:
        return rank, world_size
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


# torch has no unsigned integer types beyond uint8: widen to the signed type that holds them.
_WIDER = {np.dtype("uint16"): np.int32, np.dtype("uint32"): np.int64}


def _tensor(a):
    if a.dtype in _WIDER:
        a = a.astype(_WIDER[a.dtype])
    if a.dtype == np.dtype("uint64"):
        return a  # no torch type holds every uint64
    return torch.from_numpy(np.ascontiguousarray(a))


class QuiverIterableDataset(IterableDataset):
    """Batches of one version of a Quiver dataset, served by a Quiver HTTP server.

    Use with `DataLoader(ds, batch_size=None, num_workers=N)`: each item is already a batch (a
    dict of column -> torch tensor, or list for text and bytes, plus "row_id"). The version is
    pinned when the object is made (all workers and epochs read it); pass `version=` to pin the
    same one on every rank, or call `refresh()` to move to the branch's newest.

    Parameters mirror `ds.stream()`: columns, where, batch_rows, batch_bytes_max, shuffle_seed
    (None: no shuffle), block_rows, window_blocks, epoch, rank / world_size, remainder ("pad" or
    "drop"), decode (e.g. {"image": {"width": 224, "height": 224, "layout": "chw"}}),
    on_undecodable ("fail" or "skip"), and `token` (sent as a bearer token).

    Resume mid-epoch with `resume=batch["_cursor"]` of the last batch the trainer consumed (and
    the same options): every worker continues after that batch, so the rank yields exactly the
    batches it had not, in the same order.
    """

    def __init__(self, url, dataset, branch=None, version=None, tag=None, token=None, columns=None, where=None,
                 batch_rows=256, batch_bytes_max=None, shuffle_seed=None, block_rows=None, window_blocks=None,
                 epoch=0, rank=None, world_size=None, remainder="pad", decode=None, on_undecodable="fail",
                 resume=None, as_tensors=True, timeout_s=60):
        super().__init__()
        self.url = url.rstrip("/")
        self.dataset = dataset
        self.token = token
        self.timeout_s = timeout_s
        self.as_tensors = as_tensors
        self.rank, self.world_size = _rank_world(rank, world_size)
        self.epoch = epoch
        self.resume = resume
        self.options = {k: v for k, v in {
            "columns": ",".join(columns) if columns else None, "where": where, "batchRows": batch_rows,
            "batchBytesMax": batch_bytes_max, "seed": shuffle_seed, "blockRows": block_rows,
            "windowBlocks": window_blocks, "remainder": remainder,
            "decode": json.dumps(decode) if decode else None, "onUndecodable": on_undecodable,
        }.items() if v is not None}
        self._target = {"version": version} if version else {"tag": tag} if tag else {"branch": branch} if branch else {}
        self.version = version or self.info()["version"]
        self._target = {"version": self.version}

    def set_epoch(self, epoch):
        """The epoch the next iteration reads (as DistributedSampler.set_epoch)."""
        self.epoch = epoch

    def refresh(self, branch=None):
        """Pins the branch's newest version (the default branch when None) for later epochs."""
        self._target = {"branch": branch} if branch else {}
        self.version = self.info()["version"]
        self._target = {"version": self.version}

    def _query(self, worker=0, workers=1):
        q = dict(self.options, **self._target, epoch=self.epoch, rank=self.rank, worldSize=self.world_size,
                 worker=worker, workers=workers)
        if self.resume is not None:
            # A cursor's next batch is a global index: each worker takes its own batches from there.
            q["resume"] = json.dumps(dict(self.resume, worker=worker, workers=workers))
        return urllib.parse.urlencode(q)

    def _open(self, path, query):
        req = urllib.request.Request(f"{self.url}/v1/datasets/{urllib.parse.quote(self.dataset)}/{path}?{query}")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout_s)
        except urllib.error.HTTPError as e:
            try:
                err = json.loads(e.read())["error"]
            except Exception:
                raise QuiverStreamError("io", f"quiver_torch: HTTP {e.code} from {self.url}") from e
            raise QuiverStreamError(err["code"], err["message"], err.get("details")) from e

    def info(self):
        """The epoch as this rank sees it: version, rows, batchRows, batches, consumerBatches."""
        with self._open("stream/info", self._query()) as r:
            return json.loads(r.read())

    def __len__(self):
        """Batches this rank yields per epoch (all its workers together)."""
        return self.info()["consumerBatches"]

    def __iter__(self):
        w = get_worker_info()
        worker, workers = (w.id, w.num_workers) if w else (0, 1)
        with self._open("stream", self._query(worker, workers)) as r:
            for header, batch in read_frames(r):
                batch["row_id"] = batch.pop("row_id")
                if self.as_tensors:
                    batch = {k: _tensor(v) if isinstance(v, np.ndarray) else v for k, v in batch.items()}
                batch["_index"] = header["index"]
                batch["_cursor"] = header["cursor"]
                yield batch
