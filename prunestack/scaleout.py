"""THE way prunestack runs per-file work on Ray: connect to a cluster, map files over an actor pool.

- :func:`ray_session`: a context manager that uses the Ray runtime already running in this
  process, or connects to ``address`` (``auto``: the cluster this machine belongs to;
  ``ray://HOST:PORT``: a remote head through Ray Client), or starts a small local one (no
  dashboard, a 200 MB object store, worker logs kept off the terminal) and shuts down only what it
  started.
- :func:`map_files`: Ray Data reads the files (``read_binary_files``: local paths, or any URI
  pyarrow reads, ``s3://`` …), ``map_batches`` runs them through an actor pool whose actors each
  build the per-file function ONCE (``make(*args)``: where models load, through the model
  registry), and every result comes back to the driver, which yields ``(path, result)`` as they
  arrive. The driver is the only writer, so the caller decides what is written and dedupes.

Fault handling: an actor that dies (killed, out of memory, a crash in native code) is restarted
and its batch retried, at most ``retries`` times; a batch that still fails is dropped by Ray Data
(``max_errored_blocks=-1``), not the job. Its files are then run once more, one file per batch, so
a file that kills its worker cannot take innocent neighbours with it; what is still missing is
yielded as a :class:`Failure`. Every input path is yielded exactly once. An exception raised by
the per-file function is a :class:`Failure` for that file and never stops its batch.

What this module does not do: decide what a row is (the callers own their per-file functions and
output files), read local folders (callers list their files) or install anything on a cluster
(prunestack must be installed on every node, like any Ray Data UDF's package).
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from prunestack.errors import ConfigError

#: the object store of a Ray runtime that prunestack starts itself (bytes): documents stream
#: through it a few batches at a time, so a small one is enough and leaves memory to the models
LOCAL_OBJECT_STORE = 200 * 1024 * 1024


@dataclass(frozen=True)
class Failure:
    """The per-file function raised, or the file had no result after every retry."""

    error: str


def require_ray() -> Any:
    """The ``ray`` module; an ImportError naming the extra when it is not installed."""
    try:
        import ray
        import ray.data  # the Data library comes with the [data] extra
    except ImportError as exc:
        raise ImportError(f"Ray is not installed ({exc}): pip install 'prunestack[ray]'"
                          ) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, num_cpus: int | None = None) -> Iterator[Any]:
    """The ``ray`` module with a runtime connected: the one already running in this process,
    the cluster at ``address`` (``auto`` or ``ray://HOST:PORT``), or a local one started here
    with ``num_cpus`` (all cores when None). Shuts down only a runtime it connected or started."""
    try:
        ray = require_ray()
    except ImportError:  # the CLI's one-line error, with the pip install as its hint
        raise ConfigError("Ray is not installed", "pip install 'prunestack[ray]'") from None
    if ray.is_initialized():
        yield ray
        return
    if address:
        if not (address == "auto" or address.startswith("ray://") or ":" in address):
            raise ConfigError(f"not a Ray address: {address!r}",
                              "auto, ray://HOST:10001 or HOST:6379")
        try:
            ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {address}: {exc}",
                              "is `ray start --head` running there, and the port open?") from None
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 object_store_memory=LOCAL_OBJECT_STORE, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


class _FileActor:
    """One actor of the pool: builds the per-file function once, then maps batches of files."""

    def __init__(self, make: Callable[..., Callable[[str, bytes], Any]], args: tuple) -> None:
        self.fn = make(*args)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        paths: list[str] = []
        out: list[bytes] = []
        for path, data in zip(batch["path"], batch["bytes"], strict=True):
            try:
                res = self.fn(str(path), bytes(data))
            except Exception as exc:  # one bad file must not fail its batch
                res = Failure(f"{type(exc).__name__}: {exc}")
            paths.append(str(path))
            # pickled, so nested rows and arrays come back exactly (Arrow would re-type them)
            out.append(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
        return {"path": paths, "result": out}


def _stripped(path: str) -> str:
    """How Ray Data names a read file: a URI loses its scheme (``s3://b/k`` -> ``b/k``)."""
    return path.split("://", 1)[1] if "://" in path else path


def _run(paths: Sequence[str], make: Callable[..., Any], args: tuple, *, num_workers: int,
         batch_size: int, retries: int, cpus_per_worker: float,
         memory_per_worker: int | None) -> Iterator[tuple[str, Any]]:
    """One Ray Data pass over ``paths``; yields what came back (a dropped batch yields nothing)."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    saved = (ctx.max_errored_blocks, ctx.enable_progress_bars)
    ctx.max_errored_blocks = -1  # a batch whose retries are spent is dropped, not the job
    ctx.enable_progress_bars = False  # the caller shows one bar for the whole job
    log = logging.getLogger("ray.data")
    level = log.level
    log.setLevel(logging.CRITICAL)  # plans, and a dropped batch's traceback: the rows say it
    names = {_stripped(p): p for p in paths}
    remote: dict[str, Any] = {"max_restarts": -1, "max_task_retries": retries}
    try:
        # reading is I/O: no CPU reserved, or a pool that holds every CPU would starve it
        ds = ray.data.read_binary_files(list(paths), include_paths=True, num_cpus=0,
                                        override_num_blocks=max(-(-len(paths) // batch_size),
                                                            min(len(paths), num_workers)))
        with warnings.catch_warnings():  # restarts/retries have no named parameter before 2.64
            warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
            ds = ds.map_batches(_FileActor, fn_constructor_args=(make, args),
                                batch_size=batch_size, batch_format="numpy",
                                compute=ray.data.ActorPoolStrategy(size=num_workers),
                                num_cpus=cpus_per_worker, memory=memory_per_worker,
                                **remote)
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy",
                                     prefetch_batches=0):
            for path, blob in zip(batch["path"], batch["result"], strict=True):
                name = str(path)
                yield names.get(name, names.get(_stripped(name), name)), pickle.loads(blob)
    finally:
        ctx.max_errored_blocks, ctx.enable_progress_bars = saved
        log.setLevel(level)


def map_files(paths: Sequence[str], make: Callable[..., Callable[[str, bytes], Any]],
              args: tuple = (), *, num_workers: int = 2, batch_size: int = 4, retries: int = 2,
              cpus_per_worker: float = 1.0, memory_per_worker: int | None = None
              ) -> Iterator[tuple[str, Any]]:
    """``(path, make(*args)(path, data))`` for every path, each exactly once, in completion
    order, computed in a pool of ``num_workers`` Ray actors (``cpus_per_worker`` CPUs and, when
    given, ``memory_per_worker`` bytes reserved each). ``make`` must be importable on the workers
    (a module-level function of an installed package); it runs once per actor. A result is a
    :class:`Failure` when the function raised or the file had no result after ``retries``
    retries of its batch and one more try on its own."""
    if num_workers < 1 or batch_size < 1 or retries < 0:
        raise ConfigError("num_workers and batch_size must be at least 1, retries at least 0")
    if not paths:
        return
    ray = require_ray()
    if not ray.is_initialized():
        raise ConfigError("no Ray runtime is connected", "run inside ray_session()")
    todo = list(dict.fromkeys(paths))
    wanted = set(todo)
    seen: set[str] = set()
    size = batch_size
    tries = retries + 1
    while todo:
        for path, res in _run(todo, make, args, num_workers=min(num_workers, len(todo)),
                              batch_size=size, retries=retries,
                              cpus_per_worker=cpus_per_worker,
                              memory_per_worker=memory_per_worker):
            if path in seen or path not in wanted:
                continue  # never twice, never a stranger
            seen.add(path)
            yield path, res
        todo = [p for p in todo if p not in seen]
        if size == 1:
            break
        size = 1  # the rest of a dropped batch, one file per batch: find the file that kills
        tries += retries + 1
    for path in todo:
        yield path, Failure(f"no result after {tries} tries: the worker process died "
                            "(killed, out of memory or crashed) while processing this file")
