#!/usr/bin/env python3
"""kubelite's CronJob controller judged by the real kubectl. kubelite runs with --cron-speed 60 (its CronJob
clock passes a minute each second), so a `* * * * *` schedule fires every second and nothing sleeps a minute."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from klclient import KubectlCase, wait_until  # noqa: E402

CRONJOB = """apiVersion: batch/v1
kind: CronJob
metadata: {name: %(name)s}
spec:
  schedule: "%(schedule)s"
  concurrencyPolicy: %(policy)s
  successfulJobsHistoryLimit: 2
  failedJobsHistoryLimit: 1
  jobTemplate:
    metadata: {labels: {cron: %(name)s}}
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers: [{name: c, image: busybox, command: ["sh", "-c", "%(command)s"]}]
"""


class CronJobs(KubectlCase):
    SERVER_ARGS = ("--cron-speed", "60", "--nodes", "1")

    def apply(self, ns, **fields):
        self.kubectl("create", "ns", ns, ok=False)
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=CRONJOB % fields)
        return self.get_json("cronjob", "-n", ns, fields["name"])

    def jobs(self, ns, name):
        return self.get_json("jobs", "-n", ns, "-l", "cron=" + name)["items"]

    @staticmethod
    def finished(job):
        return {c["type"] for c in job.get("status", {}).get("conditions", []) if c["status"] == "True"} & \
            {"Complete", "Failed"}

    def test_allow_creates_a_job_each_minute_and_keeps_the_history_limits(self):
        ns = "cj-allow"
        cj = self.apply(ns, name="tick", schedule="* * * * *", policy="Allow", command="echo tick")
        # Four runs: every Job is named after its scheduled minute and owned by the CronJob.
        seen = {}

        def collect():
            for job in self.jobs(ns, "tick"):
                seen[job["metadata"]["name"]] = job
            return len(seen) >= 4
        wait_until(collect, 20, "four scheduled Jobs")
        for name, job in seen.items():
            minute = int(name[len("tick-"):])
            owner = job["metadata"]["ownerReferences"][0]
            self.assertEqual((owner["kind"], owner["name"], owner["uid"], owner["controller"]),
                             ("CronJob", "tick", cj["metadata"]["uid"], True))
            stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
            self.assertEqual(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute * 60)), stamp)
        minutes = sorted(int(n[len("tick-"):]) for n in seen)
        self.assertEqual(minutes, list(range(minutes[0], minutes[0] + len(minutes))))  # one per minute, none missed
        # Finished Jobs beyond successfulJobsHistoryLimit (2) go; lastSuccessfulTime follows the completions.
        def trimmed():
            collect()
            jobs = self.jobs(ns, "tick")
            return len([j for j in jobs if self.finished(j) == {"Complete"}]) == 2 and len(seen) >= 5
        wait_until(trimmed, 20, "the history to be trimmed to 2")
        status = self.get_json("cronjob", "-n", ns, "tick")["status"]
        self.assertIn("lastScheduleTime", status)
        self.assertIn("lastSuccessfulTime", status)
        self.assertGreaterEqual(status["lastScheduleTime"], status["lastSuccessfulTime"][:17])
        done = [j for j in self.jobs(ns, "tick") if self.finished(j)]
        self.assertLessEqual(len(done), 2 + 1)  # the limit, and one that finished since the last sync
        events = {e["reason"] for e in self.get_json("events", "-n", ns)["items"]}
        self.assertTrue({"SuccessfulCreate", "SuccessfulDelete"} <= events, events)
        out = self.kubectl("get", "cronjob", "-n", ns, "tick")
        self.assertRegex(out, r"tick\s+\* \* \* \* \*\s+<none>\s+False\s+[01]\s+\S+")
        # Suspended: no new Job for several of its minutes; resumed: they come again.
        self.kubectl("patch", "cronjob", "-n", ns, "tick", "--type=merge", "-p", '{"spec":{"suspend":true}}')
        time.sleep(0.5)  # a sync under way when the patch landed may still create one
        before = {j["metadata"]["name"] for j in self.jobs(ns, "tick")}
        time.sleep(3)  # three minutes on the controller's clock
        self.assertFalse({j["metadata"]["name"] for j in self.jobs(ns, "tick")} - before)
        self.assertRegex(self.kubectl("get", "cronjob", "-n", ns, "tick"), r"tick\s+\* \* \* \* \*\s+<none>\s+True")
        self.kubectl("patch", "cronjob", "-n", ns, "tick", "--type=merge", "-p", '{"spec":{"suspend":false}}')
        wait_until(lambda: {j["metadata"]["name"] for j in self.jobs(ns, "tick")} - before, 10, "a Job after resuming")
        # Deleting the CronJob deletes its Jobs (ownerReferences, the garbage collector).
        self.kubectl("delete", "cronjob", "-n", ns, "tick")
        wait_until(lambda: not self.jobs(ns, "tick"), 15, "the Jobs to go with their CronJob")

    def test_forbid_keeps_one_job_and_replace_replaces_it(self):
        ns = "cj-policies"
        self.apply(ns, name="solo", schedule="* * * * *", policy="Forbid", command="sleep 1000")
        first = wait_until(lambda: self.jobs(ns, "solo"), 10, "the first Job")[0]["metadata"]["name"]
        time.sleep(3)  # three more scheduled times pass while it runs
        self.assertEqual([j["metadata"]["name"] for j in self.jobs(ns, "solo")], [first])
        status = self.get_json("cronjob", "-n", ns, "solo")["status"]
        self.assertEqual([(a["kind"], a["name"]) for a in status["active"]], [("Job", first)])
        self.assertIn("JobAlreadyActive", {e["reason"] for e in self.get_json("events", "-n", ns)["items"]})

        self.apply(ns, name="swap", schedule="* * * * *", policy="Replace", command="sleep 1000")
        first = wait_until(lambda: self.jobs(ns, "swap"), 10, "the first Job")[0]["metadata"]["name"]
        second = wait_until(lambda: [j for j in self.jobs(ns, "swap") if j["metadata"]["name"] > first and
                                     not j["metadata"].get("deletionTimestamp")], 10, "a replacing Job")
        second = second[0]["metadata"]["name"]
        wait_until(lambda: first not in {j["metadata"]["name"] for j in self.jobs(ns, "swap")}, 10,
                   "the replaced Job to be deleted")
        active = self.get_json("cronjob", "-n", ns, "swap")["status"]["active"]
        self.assertEqual(len(active), 1)
        self.assertGreaterEqual(active[0]["name"], second)

    def test_failed_history_limit_and_a_manual_run(self):
        ns = "cj-manual"
        self.apply(ns, name="fail", schedule="* * * * *", policy="Allow", command="exit 1")
        wait_until(lambda: len({j["metadata"]["name"] for j in self.jobs(ns, "fail")}) >= 1, 10, "a failing Job")
        time.sleep(3)
        # Several have failed by now, and failedJobsHistoryLimit (1) keeps one (plus one that may be running).
        failed = wait_until(lambda: [j for j in self.jobs(ns, "fail") if self.finished(j) == {"Failed"}], 10,
                            "a failed Job")
        self.assertEqual(len(failed), 1)
        self.kubectl("patch", "cronjob", "-n", ns, "fail", "--type=merge", "-p", '{"spec":{"suspend":true}}')

        # `kubectl create job --from=cronjob/...`: kubectl builds the Job from the CronJob it reads.
        # Daily, twelve hours from now: at --cron-speed 60, "@daily" fired during runs in the half hour before
        # midnight UTC.
        hour = (time.gmtime().tm_hour + 12) % 24
        self.apply(ns, name="daily", schedule="0 %d * * *" % hour, policy="Allow", command="echo manual")
        self.assertIn("job.batch/by-hand created", self.kubectl("create", "job", "-n", ns, "by-hand",
                                                                "--from=cronjob/daily"))
        job = self.get_json("job", "-n", ns, "by-hand")
        self.assertEqual(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual")
        self.assertEqual(job["metadata"]["ownerReferences"][0]["name"], "daily")
        self.assertIn("condition met", self.kubectl("wait", "-n", ns, "--for=condition=Complete", "job/by-hand",
                                                    "--timeout=20s"))
        pod = self.get_json("pods", "-n", ns, "-l", "job-name=by-hand")["items"][0]
        self.assertEqual(self.kubectl("logs", "-n", ns, pod["metadata"]["name"]), "manual\n")
        # Its time has not come yet: the only Job is the manual one.
        self.assertEqual([j["metadata"]["name"] for j in self.jobs(ns, "daily")], ["by-hand"])
        wait_until(lambda: self.get_json("cronjob", "-n", ns, "daily").get("status", {}).get("lastSuccessfulTime"),
                   10, "the manual run's completion in the CronJob's status")

    def test_unparseable_schedule_is_reported(self):
        ns = "cj-bad"
        self.apply(ns, name="bad", schedule="61 * * * *", policy="Allow", command="true")
        event = wait_until(lambda: [e for e in self.get_json("events", "-n", ns)["items"]
                                    if e["reason"] == "UnparseableSchedule"], 10, "the UnparseableSchedule event")[0]
        self.assertEqual(event["type"], "Warning")
        self.assertIn('unparseable schedule: "61 * * * *" : end of range (61) above maximum (59): 61', event["message"])
        time.sleep(1.5)
        self.assertEqual(self.jobs(ns, "bad"), [])

    def test_time_zone_is_validated_and_schedules_in_wall_clock_time(self):
        ns = "cj-tz"
        self.kubectl("create", "ns", ns, ok=False)
        manifest = (CRONJOB % {"name": "NAME", "schedule": "*/10 * * * *", "policy": "Allow", "command": "true"}).replace(
            "spec:\n  schedule:", "spec:\n  timeZone: ZONE\n  schedule:", 1)
        # A zone the system's tzdata does not have is refused as the real apiserver refuses it; nothing is stored.
        p = self.kubectl("apply", "-n", ns, "-f", "-", ok=False,
                         stdin=manifest.replace("NAME", "mars").replace("ZONE", "Mars/Olympus_Mons"))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('spec.timeZone: Invalid value: "Mars/Olympus_Mons": unknown time zone Mars/Olympus_Mons', p.stderr)
        self.assertNotEqual(self.kubectl("get", "cronjob", "-n", ns, "mars", ok=False).returncode, 0)
        p = self.kubectl("apply", "-n", ns, "-f", "-", ok=False,
                         stdin=manifest.replace("NAME", "local").replace("ZONE", "Local"))
        self.assertIn('spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone', p.stderr)

        # Asia/Kathmandu is UTC+05:45: "*/10" of its wall clock falls on UTC minutes ending in 5 (in UTC: in 0).
        self.kubectl("apply", "-n", ns, "-f", "-", stdin=manifest.replace("NAME", "ktm").replace("ZONE", "Asia/Kathmandu"))
        self.assertIn("Asia/Kathmandu", self.kubectl("get", "cronjob", "-n", ns, "ktm"))
        jobs = wait_until(lambda: self.jobs(ns, "ktm"), 25, "a Job of the Kathmandu schedule")
        minute = int(jobs[0]["metadata"]["name"][len("ktm-"):])  # the scheduled time, in minutes since the epoch
        self.assertEqual(minute % 10, 5, jobs[0]["metadata"]["name"])
        self.assertEqual(jobs[0]["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"],
                         time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute * 60)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
