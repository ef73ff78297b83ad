"""The frozen RGB-only driving policy: a perception network (obstacle segmentation + traffic-light
stop head) trained on clear-day frames, and a geometric planner/controller on GNSS, IMU, speed and
the route plan. See ``agent.py``."""
