"""Engine: alerts to investigations, playbook steps, verdicts, proposed actions, expiry.

It reaches the store, the connectors and the actions; the task runner decides where
steps run (threads in this process by default).
"""
