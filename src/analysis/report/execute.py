"""Executing the notebooks: the right kernel, papermill in worker threads, clean interrupts.

Notebooks always run in the kernel `analysis.config.KERNEL_NAME`, and the runner refuses to
start when that kernel's interpreter is not the one running it (`check_kernel`). Independent
notebooks run at the same time (`execute_steps`); a failing cell stops the run with
`analysis.report.errors.NotebookFailedError` naming the notebook, the cell and the error.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Mapping, Sequence

from analysis import config
from analysis.report.cells import select_cells
from analysis.report.errors import KernelMismatchError, NotebookFailedError
from analysis.report.manifest import now
from analysis.report.pipeline import Step, topological_order

__all__ = ["check_kernel", "same_interpreter", "execute_notebook", "execute_steps", "kill_kernels", "first_line",
           "threads_per_kernel"]

def same_interpreter(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Same file *and* same folder: a venv's python links to the system one, which is not ours."""
    a, b = Path(a), Path(b)
    return (os.path.realpath(a.parent) == os.path.realpath(b.parent)
            and os.path.realpath(a) == os.path.realpath(b))


def check_kernel(kernel_name: str = config.KERNEL_NAME) -> Path:
    """Check that the Jupyter kernel *kernel_name* runs the interpreter running this code.

    Returns
    -------
    pathlib.Path
        The kernel's interpreter.

    Raises
    ------
    KernelMismatchError
        When the kernelspec is missing or its ``argv[0]`` is another interpreter (a kernel
        registered by another venv would import another copy of the project).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise KernelMismatchError(
            f"Jupyter kernel {kernel_name!r} is not installed for {sys.executable}; run `make install`"
        ) from None
    argv0 = spec.argv[0] if spec.argv else ""
    resolved = shutil.which(argv0) if argv0 and not os.path.isabs(argv0) else argv0
    if not resolved or not same_interpreter(resolved, sys.executable):
        raise KernelMismatchError(
            f"Jupyter kernel {kernel_name!r} ({spec.resource_dir}) runs {argv0!r}, not this interpreter "
            f"({sys.executable}); run `make install` to register the project's kernel (and delete "
            f"{spec.resource_dir} if it belongs to another environment: it would shadow it)"
        )
    return Path(resolved)


def first_line(source: str) -> str:
    """The first non-blank line of a cell's source, shortened (for error messages)."""
    lines = [line for line in (source or "").splitlines() if line.strip()]
    return lines[0].strip()[:120] if lines else ""


_THREAD = threading.local()  # the kernel manager of the notebook this worker thread runs


# The variables the BLAS / OpenMP libraries under numpy and scipy read for their thread count.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def threads_per_kernel(jobs: int) -> int:
    """The BLAS threads each of *jobs* kernels running at once may use: the cores shared out.

    Two kernels whose OpenBLAS each starts a thread per core fight over the cores: OpenBLAS
    threads spin while they wait, and every small product (lsmr's norms in the disclosure
    audit, the bootstrap's) waits on the other kernel's spinning threads — a by-unit table
    that protects in 2.9 s alone took 28 s beside the reliability bootstrap (10,300 units).

    >>> threads_per_kernel(1) == (os.cpu_count() or 1), threads_per_kernel(10**6)
    (True, 1)
    """
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


def _kernel_manager_class(blas_threads: int | None = None) -> type:
    """nbclient's kernel manager, minus the SIGINT it sends an idle kernel on shutdown; with
    *blas_threads*, the kernel's BLAS and OpenMP threads (`THREAD_VARIABLES`) are that many,
    unless the user's environment sets them.

    jupyter_client's ``shutdown_kernel`` always interrupts the kernel (SIGINT) before it asks
    it to shut down. When the signal lands while the kernel is still in a message handler (it
    is publishing the last cell's idle status), ipykernel logs
    "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel." on the terminal of a
    ``make report`` where nothing failed. The interrupt is skipped only when no cell is
    running (nbclient's ``on_cell_execute`` / ``on_cell_executed`` hooks, `_cell_started`,
    `_cell_finished`): a kernel stopped in the middle of a cell (Ctrl-C, timeout, killed run)
    is interrupted exactly as before, and real errors (cell errors raised by papermill, a dead
    kernel by nbclient) are unchanged.
    """
    from jupyter_client.manager import AsyncKernelManager

    class QuietShutdownKernelManager(AsyncKernelManager):
        cell_running = False

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            _THREAD.kernel_manager = self

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            if blas_threads is not None:
                env = dict(kw.pop("env", os.environ))
                for name in THREAD_VARIABLES:
                    env.setdefault(name, str(blas_threads))
                kw["env"] = env
            return await super()._async_pre_start_kernel(**kw)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down and not self.cell_running:
                return
            await super()._async_interrupt_kernel()

    return QuietShutdownKernelManager


def _set_cell_running(running: bool) -> None:
    km = getattr(_THREAD, "kernel_manager", None)
    if km is not None:
        km.cell_running = running


def _cell_started(**_: Any) -> None:
    """nbclient hook before a cell is sent to the kernel."""
    _set_cell_running(True)


def _cell_finished(**_: Any) -> None:
    """nbclient hook after a cell's reply (ok or error): the kernel is idle again."""
    _set_cell_running(False)


def execute_notebook(step: Step, notebooks_dir: Path, run_dir: Path, parameters: Mapping[str, Any],
                     features: frozenset[str] | None = None, *, jobs: int = 1) -> dict:
    """Run one notebook into ``run_dir/notebooks/``; return its record for the manifest.

    *jobs* is the number of notebooks running at the same time: the kernel's BLAS threads are
    the cores shared out among them (`threads_per_kernel`).

    With *features* (`analysis.project.Study.features`), only the cells they allow run
    (`analysis.report.cells.select_cells`): a section the study cannot offer is left out.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out = run_dir / "notebooks" / f"{step.name}.ipynb"
    started = now()
    try:
        notebook = nbformat.read(step.path(notebooks_dir), as_version=4)
        if features is not None:
            notebook = select_cells(notebook, features)
        pm.execute_notebook(
            notebook, str(out),
            # A dict of Python objects: papermill writes them as literals, strings stay strings.
            parameters=dict(parameters),
            kernel_name=config.KERNEL_NAME,
            progress_bar=False,
            # The kernel's working directory is the run folder, so stray relative writes land
            # there, not in notebooks/. Not papermill's `cwd=`: it calls os.chdir, which is
            # process-wide and races between the worker threads.
            resources={"metadata": {"path": str(run_dir)}},
            # Quiet the kernel's start-up warnings (local TCP transport) that would break the
            # progress bar; errors still show, and cell errors are reported by papermill.
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
            kernel_manager_class=_kernel_manager_class(threads_per_kernel(jobs)),
            on_cell_execute=_cell_started, on_cell_executed=_cell_finished,
        )
    except PapermillExecutionError as exc:
        raise NotebookFailedError(step.name, exc.cell_index, first_line(exc.source),
                                  f"{exc.ename}: {exc.evalue}") from exc
    except Exception as exc:  # kernel died, timeout, bad notebook file…
        raise NotebookFailedError(step.name, None, "", f"{type(exc).__name__}: {exc}") from exc
    ended = now()
    return {"name": step.name, "status": "complete", "started_at": started.isoformat(),
            "ended_at": ended.isoformat(), "duration_s": round((ended - started).total_seconds(), 3)}


def execute_steps(steps: Sequence[Step], notebooks_dir: Path, run_dir: Path,
                  parameters: Mapping[str, Any], records: list[dict], *, jobs: int, progress: bool,
                  label: str, features: frozenset[str] | None = None) -> None:
    """Run *steps* with up to *jobs* notebooks at a time, each once all it needs has finished.

    One record per finished notebook is appended to *records* (also when a later one fails, so
    the failed run's manifest shows what ran). On the first failure no new notebook starts;
    running ones finish, then the error is raised.
    """
    from tqdm import tqdm

    pending = list(topological_order(steps))
    done: set[str] = set()
    running: dict[Future, Step] = {}
    failure: NotebookFailedError | None = None
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="notebook")
    bar = tqdm(total=len(steps), desc=label, unit="notebook", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    try:
        while pending or running:
            if failure is None:
                for step in [s for s in pending if set(s.needs) <= done]:
                    pending.remove(step)
                    running[pool.submit(execute_notebook, step, notebooks_dir, run_dir, parameters, features,
                                         jobs=jobs)] = step
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    records.append(future.result())
                except NotebookFailedError as exc:
                    failure = failure or exc
                    records.append({"name": step.name, "status": "failed", "error": str(exc)})
                    continue
                done.add(step.name)
                bar.set_postfix_str(step.name, refresh=False)
                bar.update(1)
    except BaseException:
        # Interrupted: kernels run in their own session and do not see the terminal's Ctrl-C,
        # so stop them, let the worker threads return, and only then leave.
        pool.shutdown(wait=False, cancel_futures=True)
        # A notebook whose kernel was still starting when the signal came would start it after
        # a single sweep and run to the end (seen under load): sweep until every worker is back.
        kill_kernels()
        while any(not f.done() for f in running):
            wait(list(running), timeout=0.5)
            kill_kernels()
        pool.shutdown(wait=True)
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    if failure is not None:
        raise failure


def kill_kernels() -> None:
    """Kill the kernel processes this process started (its ipykernel children), nothing else."""
    import psutil  # a dependency of ipykernel

    for child in psutil.Process().children(recursive=True):
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                child.kill()
        except psutil.Error:
            pass
