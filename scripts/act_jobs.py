#!/usr/bin/env python3
"""What scripts/act-local.sh needs to know about a repository's workflows.

    python3 scripts/act_jobs.py REPO_DIR WORKFLOW...

For each job of each workflow (paths relative to REPO_DIR), prints one line
    job<TAB>WORKFLOW<TAB>JOB_ID<TAB>ID_TOKEN<TAB>ENVIRONMENT
where ID_TOKEN is `yes` when GitHub would let the job request an OIDC token
(`permissions: id-token: write` or `write-all`, on the job, else on the
workflow; a job's own `permissions` replaces the workflow's), and ENVIRONMENT
is the job's `environment` name ("-" for none or an expression). Then, for
each distinct `uses:` of a keyless-aws action,
    uses<TAB>OWNER/NAME@REF
Reads YAML with PyYAML (installed with moto by scripts/setup.sh).
"""
import os
import sys

import yaml


def id_token_allowed(permissions):
    if permissions == "write-all":
        return True
    if isinstance(permissions, dict):
        return permissions.get("id-token") == "write"
    return False


def environment(job):
    env = job.get("environment")
    if isinstance(env, dict):
        env = env.get("name")
    if not isinstance(env, str) or not env or "${{" in env:
        return "-"
    return env


def main():
    repo, workflows = sys.argv[1], sys.argv[2:]
    uses = []
    for workflow in workflows:
        with open(os.path.join(repo, workflow), encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        top = doc.get("permissions")
        for job_id, job in (doc.get("jobs") or {}).items():
            job = job or {}
            permissions = job["permissions"] if "permissions" in job else top
            allowed = "yes" if id_token_allowed(permissions) else "no"
            print(f"job\t{workflow}\t{job_id}\t{allowed}\t{environment(job)}")
            for step in job.get("steps") or []:
                used = (step or {}).get("uses")
                if isinstance(used, str) and "/keyless-aws@" in used and used not in uses:
                    uses.append(used)
    for used in uses:
        print(f"uses\t{used}")


if __name__ == "__main__":
    main()
