#!/usr/bin/env python3
"""keyless-aws benchmark harness (stdlib only). Run it through scripts/bench.sh.

Measures, against the instant stand-ins of bench/standin (token endpoint, STS, IMDS
on 127.0.0.1), the wall time, peak RSS and CPU time of:

  * the floor: `/bin/true`, and one curl process doing the same two round trips
    (token GET + STS POST) as the action;
  * the release binary: OIDC path, static keys -> AssumeRole, input-validation failure;
  * `docker run` of the image (container start included) for the same three, plus
    `docker run IMAGE --version` as the container floor, when Docker and the image
    are there; peak RSS inside the container comes from bench/standin's rusage-exec;
  * time-to-fail: no token permission, AccessDenied, STS unreachable, throttling
    that never ends, token endpoint unreachable; with the attempts the stand-ins saw
    (or, for a closed port, the attempts the SDK/token loop logged in one debug run);
  * sizes: binary, image uncompressed and `docker save | gzip`.

Prints a table and the budgets, and writes the figures as JSON (--json).
Every child is a bounded process; the stand-in exits by itself.
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROLE = "arn:aws:iam::123456789012:role/bench"
# Throttling is retried for a time budget (5 min by default, less with action-timeout-s:
# src/retry.rs); the never-ending-throttling case sets this action-timeout-s to stay short.
THROTTLE_CASE_TIMEOUT_S = 15
# The inputs a runner passes for a step that sets only aws-region and
# role-to-assume: every input with a default in action.yml is set.
ACTION_DEFAULTS = {
    "INPUT_ROLE-CHAINING": "false",
    "INPUT_AUDIENCE": "sts.amazonaws.com",
    "INPUT_MASK-AWS-ACCOUNT-ID": "false",
    "INPUT_ROLE-DURATION-SECONDS": "3600",
    "INPUT_ROLE-SESSION-NAME": "GitHubActions",
    "INPUT_ROLE-SKIP-SESSION-TAGGING": "false",
    "INPUT_OUTPUT-CREDENTIALS": "false",
    "INPUT_OUTPUT-ENV-CREDENTIALS": "true",
    "INPUT_UNSET-CURRENT-CREDENTIALS": "false",
    "INPUT_DISABLE-RETRY": "false",
    "INPUT_RETRY-MAX-ATTEMPTS": "12",
    "INPUT_SPECIAL-CHARACTERS-WORKAROUND": "false",
    "INPUT_USE-EXISTING-CREDENTIALS": "false",
    "INPUT_FORCE-SKIP-OIDC": "false",
    "INPUT_OVERWRITE-AWS-PROFILE": "false",
}
# GitHub-like job environment (the action reads GITHUB_* for session tags).
GITHUB_ENVIRONMENT = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "octo-org/octo-repo",
    "GITHUB_WORKFLOW": "CI",
    "GITHUB_ACTION": "__keyless-aws",
    "GITHUB_ACTOR": "octocat",
    "GITHUB_SHA": "6d2f9e4c1b0a8f7e6d5c4b3a29180f7e6d5c4b3a",
    "GITHUB_RUN_ID": "9876543210",
    "GITHUB_REF": "refs/heads/main",
    "RUNNER_OS": "Linux",
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes

def spawn(argv, env, stdout_path=None, stderr_path=None, timeout=120.0):
    """Runs argv; returns (exit code, wall seconds, rusage). posix_spawn + wait4:
    the rusage is exactly this child's (ru_maxrss in KiB)."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path or "/dev/null", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path or "/dev/null", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
    start = time.perf_counter()
    pid = os.posix_spawn(exe, argv, env, file_actions=actions)
    deadline = start + timeout
    while True:
        wpid, status, usage = os.wait4(pid, os.WNOHANG)
        if wpid == pid:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, 9)
            wpid, status, usage = os.wait4(pid, 0)
            raise RuntimeError(f"{argv[0]} did not finish within {timeout} s")
        time.sleep(0.0005)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage


def spawn_blocking(argv, env, stdout_path=None, stderr_path=None):
    """Like spawn, without polling (for the short, timed runs): wait4 blocks."""
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout_path or "/dev/null", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, stderr_path or "/dev/null", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
    start = time.perf_counter()
    pid = os.posix_spawn(exe, argv, env, file_actions=actions)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage


# ---------------------------------------------------------------- stand-in

class Standin:
    def __init__(self, binary, max_seconds):
        self.proc = subprocess.Popen(
            [binary, "--max-seconds", str(max_seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ports = json.loads(self.proc.stdout.readline())

    def url(self, mode, path="/"):
        return f"http://127.0.0.1:{self.ports[mode]}{path}"

    def stats(self):
        with urllib.request.urlopen(self.url("ok", "/_stats"), timeout=5) as r:
            return json.load(r)

    def reset(self):
        req = urllib.request.Request(self.url("ok", "/_reset"), data=b"", method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def close(self):
        self.proc.stdin.close()  # the stand-in exits at EOF on stdin
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def closed_port():
    """A 127.0.0.1 port nothing listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def requests_seen(stats):
    """Flattens the stand-in counters into {'ok.token': n, ...} without zeros."""
    return {f"{mode}.{kind}": n for mode, kinds in stats.items() for kind, n in kinds.items() if n}


# ---------------------------------------------------------------- statistics

def summarize(samples):
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
    }


class Result:
    def __init__(self, name, group):
        self.name = name
        self.group = group
        self.wall = []       # seconds
        self.inner = []      # seconds, as rusage-exec saw it
        self.rss = []        # KiB
        self.cpu = []        # seconds
        self.requests = {}
        self.attempts_logged = None
        self.note = ""

    def to_json(self):
        out = {"name": self.name, "group": self.group, "runs": len(self.wall),
               "wall_s": summarize(self.wall), "requests_per_run": self.requests, "note": self.note}
        if self.rss:
            out["peak_rss_kib"] = summarize(self.rss)
        if self.cpu:
            out["cpu_s"] = summarize(self.cpu)
        if self.inner:
            out["inner_wall_s"] = summarize(self.inner)
        if self.attempts_logged is not None:
            out["attempts_logged"] = self.attempts_logged
        return out


# ---------------------------------------------------------------- scenarios

class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="keyless-aws-bench.")
        self.home = os.path.join(self.tmp, "home")  # empty: no ~/.aws to find
        os.makedirs(self.home)
        self.files = os.path.join(self.tmp, "file_commands")
        os.makedirs(self.files)
        for name in ("env", "output", "state", "summary"):
            open(os.path.join(self.files, name), "w").close()
        self.standin = Standin(args.standin, max_seconds=args.max_seconds)
        self.results = []

    def close(self):
        self.standin.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- environments

    def base_env(self, files_dir=None):
        d = files_dir or self.files
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": self.home,
            "GITHUB_ENV": f"{d}/env",
            "GITHUB_OUTPUT": f"{d}/output",
            "GITHUB_STATE": f"{d}/state",
            "GITHUB_STEP_SUMMARY": f"{d}/summary",
            # An instance-metadata probe would land on the counting stand-in.
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.standin.url("imds").rstrip("/"),
        }
        env.update(GITHUB_ENVIRONMENT)
        env.update(ACTION_DEFAULTS)
        env.update(self.args.extra_env)
        env["INPUT_AWS-REGION"] = "us-east-1"
        env["INPUT_ROLE-TO-ASSUME"] = ROLE
        return env

    def oidc_env(self, sts_mode="ok", sts_url=None, token_url=None, files_dir=None):
        env = self.base_env(files_dir)
        env["INPUT_STS-ENDPOINT"] = sts_url or self.standin.url(sts_mode).rstrip("/")
        env["ACTIONS_ID_TOKEN_REQUEST_URL"] = token_url or self.standin.url("ok", "/token?api-version=2.0")
        env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = "bench-request-token"
        return env

    def keys_env(self, files_dir=None):
        env = self.base_env(files_dir)
        env["INPUT_STS-ENDPOINT"] = self.standin.url("ok").rstrip("/")
        env["INPUT_AWS-ACCESS-KEY-ID"] = "AKIAIOSFODNN7EXAMPLE"
        env["INPUT_AWS-SECRET-ACCESS-KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        return env

    def invalid_env(self, files_dir=None):
        env = self.oidc_env(files_dir=files_dir)
        env["INPUT_ROLE-DURATION-SECONDS"] = "abc"
        return env

    def no_token_env(self):
        env = self.oidc_env()
        del env["ACTIONS_ID_TOKEN_REQUEST_URL"]
        del env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
        return env

    def truncate_files(self, d=None):
        d = d or self.files
        for name in ("env", "output", "state", "summary"):
            with open(os.path.join(d, name), "w"):
                pass

    # --- measurement loops

    def case(self, name, group, argv, env, expect_rc, check=None, warmup=2, wrapped=False):
        """One scenario. argv runs under rusage-exec (so ru_maxrss is not inflated
        by this Python process: Linux carries the pre-exec high-water mark across
        execve). For docker rows the caller has already put rusage-exec inside the
        container (wrapped=True) and the wall time is the whole `docker run`;
        otherwise it is rusage-exec's, from spawn to exit of the measured process."""
        if not wrapped:
            argv = [self.args.rusage_exec] + list(argv)
        return {"res": Result(name, group), "argv": argv, "env": env, "expect_rc": expect_rc,
                "check": check, "warmup": warmup, "wrapped": wrapped, "per_run": []}

    def prepare(self, c):
        """A verification run (output checked), then the warm-up runs."""
        name = c["res"].name
        out_path = os.path.join(self.tmp, "stdout")
        err_path = os.path.join(self.tmp, "stderr")
        self.truncate_files()
        rc, _, _ = spawn(c["argv"], c["env"], out_path, err_path)
        stdout = open(out_path, errors="replace").read()
        stderr = open(err_path, errors="replace").read()
        if rc != c["expect_rc"]:
            raise RuntimeError(f"{name}: exit code {rc}, expected {c['expect_rc']}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}")
        if c["check"]:
            problem = c["check"](stdout, stderr)
            if problem:
                raise RuntimeError(f"{name}: {problem}\n--- stdout\n{stdout[-3000:]}\n--- stderr\n{stderr[-3000:]}")
        for _ in range(c["warmup"]):
            self.truncate_files()
            spawn(c["argv"], c["env"])

    def run_once(self, c):
        res = c["res"]
        err_path = os.path.join(self.tmp, "stderr")
        self.truncate_files()
        self.standin.reset()
        if res.group in ("floor", "binary"):
            # Short and bounded: block in wait4, no polling jitter.
            rc, outer, _ = spawn_blocking(c["argv"], c["env"], None, err_path)
        else:
            rc, outer, _ = spawn(c["argv"], c["env"], None, err_path, timeout=90)
        if rc != c["expect_rc"]:
            raise RuntimeError(f"{res.name}: exit code {rc} in a timed run, expected {c['expect_rc']}")
        text = open(err_path, errors="replace").read()
        m = re.search(r"rusage-exec: maxrss_kb=(\d+) wall_us=(\d+) cpu_us=(\d+)", text)
        if not m:
            raise RuntimeError(f"{res.name}: no rusage-exec line in stderr:\n{text[-2000:]}")
        inner = int(m.group(2)) / 1e6
        res.wall.append(outer if c["wrapped"] else inner)
        res.inner.append(inner)
        res.rss.append(int(m.group(1)))
        res.cpu.append(int(m.group(3)) / 1e6)
        c["per_run"].append(requests_seen(self.standin.stats()))

    def finish(self, c):
        res = c["res"]
        keys = sorted({k for r in c["per_run"] for k in r})
        res.requests = {k: summarize([r.get(k, 0) for r in c["per_run"]]) for k in keys}
        if c["wrapped"]:
            res.note = f"process inside the container: {ms(statistics.median(res.inner))} ms median"
        self.results.append(res)
        log(f"  {res.name}: median {statistics.median(res.wall)*1000:.1f} ms, "
            f"peak RSS {statistics.median(res.rss)/1024:.1f} MiB over {len(res.wall)} runs")
        return res

    def measure_interleaved(self, cases, runs):
        """Round-robin over the cases, so a floor and the rows compared with it see
        the same machine noise (the ratios hold up on a busy machine)."""
        for c in cases:
            self.prepare(c)
        for _ in range(runs):
            for c in cases:
                self.run_once(c)
        return [self.finish(c) for c in cases]

    def measure(self, name, group, argv, env, runs, expect_rc, check=None, warmup=2, wrapped=False):
        return self.measure_interleaved(
            [self.case(name, group, argv, env, expect_rc, check, warmup, wrapped)], runs)[0]

    def count_logged_attempts(self, argv, env):
        """One extra run with debug logs: attempts the token loop and the SDK made.
        For a closed port there is no stand-in to count them."""
        env = dict(env)
        env["RUST_LOG"] = "keyless_aws=debug,aws_smithy_runtime=debug"
        err_path = os.path.join(self.tmp, "stderr-debug")
        self.truncate_files()
        spawn([self.args.rusage_exec] + list(argv), env, None, err_path)
        text = open(err_path, errors="replace").read()
        return {
            "token": len(re.findall(r"requesting OIDC token", text)),
            "sts": len(re.findall(r"beginning attempt #\d+", text)),
        }

    # --- the groups

    def run_native(self):
        a = self.args
        binary = a.binary
        log(f"native ({a.runs} runs each)")
        curl = shutil.which("curl")
        if not curl:
            raise RuntimeError("curl is needed for the floor (apt-get install curl)")
        curl_argv = [
            curl, "-sS", "-o", "/dev/null", "-H", "Authorization: bearer bench-request-token",
            self.standin.url("ok", "/token?api-version=2.0&audience=sts.amazonaws.com"),
            "--next", "-sS", "-o", "/dev/null",
            "-H", "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
            "--data", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + ROLE
            + "&RoleSessionName=GitHubActions&DurationSeconds=3600&WebIdentityToken=eyJ.bench.token",
            self.standin.url("ok"),
        ]

        def exported(stdout, stderr):
            env_file = open(os.path.join(self.files, "env")).read()
            if "AWS_SECRET_ACCESS_KEY" not in env_file:
                return "GITHUB_ENV has no credentials"
            return None

        def failed_input(stdout, stderr):
            return None if "role-duration-seconds" in stdout else "no role-duration-seconds error"

        floor_env = {"PATH": "/usr/bin:/bin"}
        self.measure_interleaved([
            self.case("floor: /bin/true", "floor", ["/bin/true"], floor_env, 0),
            self.case("floor: curl token GET + STS POST", "floor", curl_argv, floor_env, 0),
            self.case("binary: OIDC -> AssumeRoleWithWebIdentity", "binary", [binary], self.oidc_env(), 0, exported),
            self.case("binary: keys -> AssumeRole", "binary", [binary], self.keys_env(), 0, exported),
            self.case("binary: invalid input (duration=abc)", "binary", [binary], self.invalid_env(), 1,
                      failed_input),
        ] + [
            self.case(f"{label}: {what}", "binary", [path], env, rc, check)
            for label, path in a.also_binary
            for what, env, rc, check in (
                ("OIDC -> AssumeRoleWithWebIdentity", self.oidc_env(), 0, exported),
                ("keys -> AssumeRole", self.keys_env(), 0, exported),
                ("invalid input (duration=abc)", self.invalid_env(), 1, failed_input),
            )
        ], a.runs)

    def docker_cli(self):
        return shutil.which("docker")

    def run_docker(self):
        a = self.args
        image = a.image
        docker = self.docker_cli()
        if a.no_docker:
            return "skipped (--no-docker)"
        if not docker:
            return "skipped: no docker CLI"
        if subprocess.run([docker, "info"], capture_output=True).returncode != 0:
            return "skipped: the Docker engine is not reachable"
        if subprocess.run([docker, "image", "inspect", image], capture_output=True).returncode != 0:
            return (f"skipped: image {image} not found; build it with "
                    f"`KEYLESS_AWS_IMAGE={image} scripts/build-image.sh`")
        log(f"docker run {image} ({a.docker_runs} runs each, --network host)")
        cdir = "/github/file_commands"

        def docker_argv(env, entry_args):
            argv = [docker, "run", "--rm", "--network", "host",
                    "-v", f"{self.files}:{cdir}",
                    "-v", f"{a.rusage_exec}:/bench/rusage-exec:ro",
                    "--entrypoint", "/bench/rusage-exec"]
            for k, v in env.items():
                if k in ("PATH", "HOME"):
                    continue
                argv += ["-e", f"{k}={v}"]
            return argv + [image, "/keyless-aws"] + entry_args

        host_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
        for k in ("DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CONTEXT"):
            if k in os.environ:
                host_env[k] = os.environ[k]

        def exported(stdout, stderr):
            env_file = open(os.path.join(self.files, "env")).read()
            return None if "AWS_SECRET_ACCESS_KEY" in env_file else "GITHUB_ENV has no credentials"

        self.measure_interleaved([
            self.case("docker: floor (IMAGE --version)", "docker-floor", docker_argv({}, ["--version"]), host_env,
                      0, lambda o, e: None if "keyless-aws" in o else "--version printed nothing",
                      warmup=1, wrapped=True),
            self.case("docker: OIDC -> AssumeRoleWithWebIdentity", "docker",
                      docker_argv(self.oidc_env(files_dir=cdir), []), host_env, 0, exported, warmup=1, wrapped=True),
            self.case("docker: keys -> AssumeRole", "docker",
                      docker_argv(self.keys_env(files_dir=cdir), []), host_env, 0, exported, warmup=1, wrapped=True),
            self.case("docker: invalid input (duration=abc)", "docker",
                      docker_argv(self.invalid_env(files_dir=cdir), []), host_env, 1, None, warmup=1, wrapped=True),
        ], a.docker_runs)
        return "measured"

    def run_failures(self):
        a = self.args
        binary = a.binary
        log(f"time-to-fail ({a.fail_runs_fast} runs for the fast ones, {a.fail_runs_slow} for the retried ones)")

        def says(text):
            return lambda o, e: None if text in o else f"expected {text!r} in the output"

        cases = [
            ("fail: no token permission (no ACTIONS_ID_TOKEN_REQUEST_URL)", self.no_token_env(),
             a.fail_runs_fast, says("id-token"), False),
            ("fail: STS AccessDenied (403)", self.oidc_env(sts_mode="deny"), a.fail_runs_fast,
             says("AccessDenied"), False),
            ("fail: STS unreachable (connection refused)",
             self.oidc_env(sts_url=f"http://127.0.0.1:{closed_port()}"), a.fail_runs_slow,
             says("Connection refused"), True),
            ("fail: STS throttling, never ends (400 Throttling)",
             dict(self.oidc_env(sts_mode="throttle"), **{"INPUT_ACTION-TIMEOUT-S": str(THROTTLE_CASE_TIMEOUT_S)}),
             a.fail_runs_slow, says("Throttling"), True),
            ("fail: token endpoint unreachable (connection refused)",
             self.oidc_env(token_url=f"http://127.0.0.1:{closed_port()}/token?api-version=2.0"),
             a.fail_runs_slow, says("token"), True),
        ]
        for name, env, runs, check, log_attempts in cases:
            res = self.measure(name, "fail", [binary], env, runs, 1, check, warmup=0)
            if log_attempts:
                res.attempts_logged = self.count_logged_attempts([binary], env)

    # --- sizes and machine

    def sizes(self, docker_status):
        out = {"binary": os.path.getsize(self.args.binary), "binary_path": self.args.binary}
        docker = self.docker_cli()
        if docker_status == "measured":
            image = self.args.image
            out["image"] = int(subprocess.check_output(
                [docker, "image", "inspect", "--format", "{{.Size}}", image], text=True).strip())
            save = subprocess.Popen([docker, "save", image], stdout=subprocess.PIPE)
            gz = subprocess.run(["gzip", "-c"], stdin=save.stdout, stdout=subprocess.PIPE, check=True)
            save.wait()
            out["image_gzip"] = len(gz.stdout)
            # The binary that is actually in the image (static build).
            cid = subprocess.check_output([docker, "create", image], text=True).strip()
            try:
                dest = os.path.join(self.tmp, "image-keyless-aws")
                subprocess.run([docker, "cp", f"{cid}:/keyless-aws", dest], check=True, capture_output=True)
                out["image_binary"] = os.path.getsize(dest)
            finally:
                subprocess.run([docker, "rm", cid], capture_output=True)
            out["image_created"] = subprocess.check_output(
                [docker, "image", "inspect", "--format", "{{.Created}}", image], text=True).strip()
        return out


def retry_caps(repo):
    """The retry numbers from src/retry.rs and src/inputs.rs, so the time-to-fail
    bounds follow the code. Falls back to the values of issue #5."""
    caps = {"initial_ms": 200, "max_backoff_ms": 2000, "sts_operation_s": 20, "token_attempts": 4,
            "sts_attempts": 12}
    def grab(path, name, key, scale):
        try:
            text = open(os.path.join(repo, path)).read()
        except OSError:
            return
        m = re.search(name + r"[^=]*=\s*(?:Duration::from_(secs|millis)\()?\s*(\d+)", text)
        if m:
            value = int(m.group(2))
            if m.group(1) == "secs":
                value *= scale
            caps[key] = value
    grab("src/retry.rs", "INITIAL_BACKOFF", "initial_ms", 1000)
    grab("src/retry.rs", "MAX_BACKOFF", "max_backoff_ms", 1000)
    grab("src/retry.rs", "STS_OPERATION_TIMEOUT", "sts_operation_s", 1)
    grab("src/retry.rs", "TOKEN_MAX_ATTEMPTS", "token_attempts", 1)
    grab("src/inputs.rs", "DEFAULT_RETRY_MAX_ATTEMPTS", "sts_attempts", 1)
    return caps


def worst_case_waits_s(attempts, initial_ms, max_ms):
    """Sum of the capped exponential backoffs between `attempts` attempts."""
    return sum(min(initial_ms * 2 ** i, max_ms) for i in range(attempts - 1)) / 1000


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    docker = ""
    if shutil.which("docker"):
        r = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True)
        docker = r.stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory": mem,
        "kernel": platform.release(),
        "docker_engine": docker or "-",
        "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip() or "?",
    }


# ---------------------------------------------------------------- report

def ms(s):
    return f"{s * 1000:.1f}" if s < 10 else f"{s * 1000:.0f}"


def fmt_requests(req):
    if not req:
        return "none"
    parts = []
    for k, v in sorted(req.items()):
        if isinstance(v, dict):
            val = f"{v['median']:g}" if v["min"] == v["max"] else f"{v['min']:g}-{v['max']:g}"
        else:
            val = f"{v:g}"
        parts.append(f"{k} {val}")
    return ", ".join(parts)


def report(results, sizes, mach, docker_status, budgets_out, caps):
    by_name = {r.name: r for r in results}
    floor = by_name.get("floor: curl token GET + STS POST")
    dfloor = by_name.get("docker: floor (IMAGE --version)")
    lines = []
    p = lines.append
    p("")
    p(f"Machine: {mach['nproc']} CPUs, {mach['cpu']}, {mach['memory']}, kernel {mach['kernel']}, "
      f"Docker engine {mach['docker_engine']}, {mach['rustc']}")
    p("")
    head = (f"{'scenario':<56} {'runs':>4}  {'wall ms med':>11} {'min':>7} {'max':>7} {'x floor':>7}  "
            f"{'RSS MiB med':>11} {'min':>5} {'max':>5} {'x floor':>7}  {'CPU ms':>6}  requests per run")
    p(head)
    p("-" * len(head))
    for r in results:
        w = summarize(r.wall)
        base = None
        if r.group == "binary":
            base = floor
        elif r.group == "docker":
            base = dfloor
        xw = f"{w['median'] / statistics.median(base.wall):.2f}" if base else ""
        if r.rss:
            m = summarize(r.rss)
            xr = f"{m['median'] / statistics.median(base.rss):.2f}" if base else ""
            rss = f"{m['median'] / 1024:>11.1f} {m['min'] / 1024:>5.1f} {m['max'] / 1024:>5.1f} {xr:>7}"
        else:
            rss = f"{'':>11} {'':>5} {'':>5} {'':>7}"
        cpu = f"{statistics.median(r.cpu) * 1000:>6.1f}" if r.cpu else f"{'':>6}"
        req = fmt_requests(r.requests)
        if r.note:
            req += f"; {r.note}"
        if r.attempts_logged is not None:
            req += f"; logged attempts: token {r.attempts_logged['token']}, STS {r.attempts_logged['sts']}"
        p(f"{r.name:<56} {len(r.wall):>4}  {ms(w['median']):>11} {ms(w['min']):>7} {ms(w['max']):>7} {xw:>7}  "
          f"{rss}  {cpu}  {req}")
    p("")
    p("Wall: spawn to exit, taken by bench/standin's rusage-exec (docker rows: the whole `docker run`, "
      "container start and removal included). RSS: the measured process's ru_maxrss (docker rows: the "
      "action's process inside the container, not the docker CLI); ~1 MiB is the floor of the method. "
      "x floor: binary rows against the curl row (one process, the same two round trips); docker rows "
      "against `docker run IMAGE --version`.")
    if docker_status != "measured":
        p(f"docker: {docker_status}")
    p("")
    p(f"Sizes: binary {sizes['binary']:,} B ({sizes['binary'] / 2**20:.2f} MiB) [{sizes['binary_path']}]")
    if "image" in sizes:
        p(f"       image binary (static) {sizes['image_binary']:,} B ({sizes['image_binary'] / 2**20:.2f} MiB); "
          f"image {sizes['image']:,} B uncompressed, {sizes['image_gzip']:,} B docker save | gzip "
          f"(image created {sizes['image_created']})")
    p("")
    # Budgets.
    p("Budgets:")
    oidc = by_name.get("binary: OIDC -> AssumeRoleWithWebIdentity")
    budgets = []
    if oidc and floor:
        ratio = statistics.median(oidc.wall) / statistics.median(floor.wall)
        budgets.append(("OIDC wall time within 3x the curl floor", ratio <= 3.0, f"{ratio:.2f}x"))
    peak = max(max(r.rss) for r in results if r.group in ("binary", "docker", "fail") and r.rss)
    budgets.append(("peak RSS under 10 MiB (every binary run)", peak < 10 * 1024, f"max {peak / 1024:.1f} MiB"))
    budgets.append(("release binary (cargo build --release) under 5 MB", sizes["binary"] < 5_000_000,
                    f"{sizes['binary'] / 1e6:.2f} MB"))
    if "image_binary" in sizes:
        budgets.append(("binary in the image under 5 MB", sizes["image_binary"] < 5_000_000,
                        f"{sizes['image_binary'] / 1e6:.2f} MB (this image's build; see docs/benchmarks.md)"))
    for name in ("fail: no token permission (no ACTIONS_ID_TOKEN_REQUEST_URL)", "fail: STS AccessDenied (403)"):
        r = by_name.get(name)
        if r:
            budgets.append((f"{name[6:]} fails in under 1 s", max(r.wall) < 1.0, f"max {ms(max(r.wall))} ms"))
    c = caps
    sts_bound = min(worst_case_waits_s(c["sts_attempts"], c["initial_ms"], c["max_backoff_ms"]),
                    c["sts_operation_s"])
    token_bound = worst_case_waits_s(c["token_attempts"], c["initial_ms"], c["max_backoff_ms"])
    r = by_name.get("fail: STS throttling, never ends (400 Throttling)")
    if r:
        attempts = r.attempts_logged["sts"] if r.attempts_logged else None
        budgets.append((f"STS throttling, never ends: bounded by its time budget (action-timeout-s: "
                        f"{THROTTLE_CASE_TIMEOUT_S}; the budget ends 1 s before it)",
                        max(r.wall) <= THROTTLE_CASE_TIMEOUT_S, f"max {max(r.wall):.1f} s, {attempts} attempts"))
    for name in ("fail: STS unreachable (connection refused)",):
        r = by_name.get(name)
        if r:
            attempts = r.attempts_logged["sts"] if r.attempts_logged else None
            ok = max(r.wall) <= sts_bound + token_bound + 1.0 and (attempts is None or attempts <= c["sts_attempts"])
            budgets.append((f"{name[6:]} bounded by the retry caps ({c['sts_attempts']} attempts, backoff "
                            f"{c['initial_ms']} ms doubling to {c['max_backoff_ms'] / 1000:g} s: waits <= "
                            f"{sts_bound:.1f} s; {c['sts_operation_s']} s per STS operation)",
                            ok, f"max {max(r.wall):.1f} s, {attempts} attempts"))
    r = by_name.get("fail: token endpoint unreachable (connection refused)")
    if r:
        attempts = r.attempts_logged["token"] if r.attempts_logged else None
        budgets.append((f"token endpoint unreachable bounded ({c['token_attempts']} attempts, waits <= "
                        f"{token_bound:.1f} s)", max(r.wall) <= token_bound + 1.0
                        and (attempts is None or attempts <= c["token_attempts"]),
                        f"max {max(r.wall):.2f} s, {attempts} attempts"))
    for text, ok, value in budgets:
        p(f"  [{'ok' if ok else 'MISSED'}] {text}: {value}")
    budgets_out.extend({"budget": t, "met": ok, "value": v} for t, ok, v in budgets)
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--standin", required=True)
    ap.add_argument("--rusage-exec", required=True)
    ap.add_argument("--image", default="keyless-aws:test")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--docker-runs", type=int, default=None)
    ap.add_argument("--fail-runs-fast", type=int, default=10)
    ap.add_argument("--fail-runs-slow", type=int, default=3)
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                    help="extra environment for the action's runs, e.g. "
                         "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt (only the bundle, as in the image)")
    ap.add_argument("--also-binary", action="append", default=[], metavar="LABEL=PATH",
                    help="measure another build of keyless-aws in the same interleaved loop "
                         "(e.g. a variant with a src/ change), reported as LABEL rows")
    ap.add_argument("--no-docker", action="store_true")
    ap.add_argument("--no-failures", action="store_true")
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument("--max-seconds", type=int, default=900, help="the stand-in stops after this")
    args = ap.parse_args()
    if args.docker_runs is None:
        args.docker_runs = args.runs
    args.extra_env = dict(kv.split("=", 1) for kv in args.env)
    args.also_binary = [(label, os.path.abspath(path)) for label, path in
                        (kv.split("=", 1) for kv in args.also_binary)]
    args.binary = os.path.abspath(args.binary)
    args.rusage_exec = os.path.abspath(args.rusage_exec)

    started = time.time()
    mach = machine()
    bench = Bench(args)
    try:
        bench.run_native()
        docker_status = bench.run_docker()
        if not args.no_failures:
            bench.run_failures()
        sizes = bench.sizes(docker_status)
    finally:
        bench.close()
    budgets = []
    caps = retry_caps(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    report(bench.results, sizes, mach, docker_status, budgets, caps)
    print(f"\n(benchmark took {time.time() - started:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": mach, "sizes": sizes, "retry_caps": caps, "docker": docker_status, "budgets": budgets,
                       "results": [r.to_json() for r in bench.results]}, f, indent=2)
        log(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
