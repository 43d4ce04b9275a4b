#!/usr/bin/env python3
"""The `client=jupyter` launch path: run driver.py inside a real Jupyter kernel.

Takes exactly driver.py's arguments. Starts an IPython kernel (ipykernel) on this same
interpreter through jupyter_client's KernelManager, executes one cell that calls
`driver.main([...])` with those arguments (plus `--client jupyter`), streams everything the kernel
prints to this process's stdout/stderr, and exits with the driver's status: non-zero if the cell
raised or result.json says `failed`. The kernel runs in its own session (jupyter_client does
that), so SIGTERM/SIGINT here shut it down, and the kernel exits by itself if this process dies.
"""
import json
import os
import queue
import shutil
import signal
import sys
import tempfile

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import driver  # noqa: E402  (for its argument parser: notebook.py takes the same arguments)

KERNEL_NAME = "loadbuild-python"
EXIT_FAILED = 1


def kernel_spec_dir():
    """A private kernelspec whose argv is this interpreter, so the kernel has the same pyspark."""
    root = tempfile.mkdtemp(prefix="loadbuild-kernel-")
    spec = os.path.join(root, KERNEL_NAME)
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"loadbuild ({sys.executable})",
                "language": "python",
            },
            f,
        )
    return root


def cell_code(argv):
    # The cell a user would type: import the driver and run it. A failure raises in the cell.
    return "\n".join(
        [
            "import sys",
            f"sys.path.insert(0, {HERE!r})",
            "import driver",
            f"status = driver.main({argv!r})",
            "if status != 0:",
            "    raise RuntimeError(f'loadbuild driver exited with status {status}')",
        ]
    )


def relay(msg):
    """Writes one IOPub message to our stdout/stderr as it arrives."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        out = sys.stderr if content["name"] == "stderr" else sys.stdout
        out.write(content["text"])
        out.flush()
    elif kind in ("execute_result", "display_data"):
        text = content.get("data", {}).get("text/plain")
        if text:
            print(text, flush=True)
    elif kind == "error":
        print("\n".join(content["traceback"]), file=sys.stderr, flush=True)


def run_in_kernel(argv):
    root = kernel_spec_dir()
    # IPC sockets in the private directory rather than TCP ports: nothing listens on the network.
    km = KernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[root]),
        transport="ipc",
        ip=os.path.join(root, "kernel"),
    )

    def shutdown(signum, _frame):
        print(f"notebook.py: signal {signum}, shutting the kernel down", file=sys.stderr, flush=True)
        if km.has_kernel:
            km.shutdown_kernel(now=True)
        sys.exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, shutdown)
    # The kernel's own stdout/stderr go to a file: once running, ipykernel forwards them (the
    # JVM's too) over IOPub, which relay() prints; a kernel that fails before that shows the file.
    kernel_log_path = os.path.join(root, "kernel.log")
    kernel_log = open(kernel_log_path, "wb")
    km.start_kernel(stdout=kernel_log, stderr=kernel_log)
    content = None
    try:
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            reply = kc.execute_interactive(cell_code(argv), output_hook=relay, allow_stdin=False, timeout=None)
            content = reply["content"]
        except (RuntimeError, queue.Empty) as error:
            print(f"notebook.py: the kernel did not answer: {error}", file=sys.stderr)
        finally:
            kc.stop_channels()
        return content
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=False)
        kernel_log.close()
        if content is None or content.get("status") != "ok":
            with open(kernel_log_path, errors="replace") as f:
                sys.stderr.write(f.read())
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = driver.parser(prog="notebook.py").parse_args(argv)  # same arguments, same --help and errors as driver.py
    if args.client != "jupyter":
        if any(a == "--client" or a.startswith("--client=") for a in argv):
            sys.exit("notebook.py: error: notebook.py is the jupyter launch path; drop --client or pass --client jupyter")
        argv += ["--client", "jupyter"]
    try:
        driver.check_args(args)
    except driver.UsageError:
        return driver.main(argv)  # bad input: no kernel needed to say so (result.json, exit 2)
    reply = run_in_kernel(argv)
    cell_ok = reply is not None and reply.get("status") == "ok"
    try:
        with open(os.path.join(args.out, "result.json")) as f:
            status = json.load(f).get("status")
    except (OSError, ValueError) as error:
        print(f"notebook.py: no readable result.json in `{args.out}`: {error}", file=sys.stderr)
        status = None
    if cell_ok and status == "succeeded":
        return 0
    if reply is not None and reply.get("status") == "error":
        print(f"notebook.py: the cell raised {reply.get('ename')}: {reply.get('evalue')}", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
