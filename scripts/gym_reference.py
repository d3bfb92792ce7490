"""Reference trajectories of Gymnasium's classic control environments, written as JSON.

For each case: reset `gym.make(env_id)` with a seed, record the physical state
(`env.unwrapped.state`), then step with a fixed action rule until the episode ends, recording the
action, the float32 observation and the reward of every step, whether the last step terminated
or truncated (as Gymnasium reports them: its TimeLimit sets `truncated` even on a terminating
step), and the final float64 state.

Each environment's cases go to `tests/data/classic_control/<env>.json`, which
`tests/classic_control.rs` reads: an array with one object per line, with the fields of its
`Reference` struct (name, initial_state, actions, observations, rewards, terminated, truncated,
final_state). float64 values are written as Python's `repr` (the shortest decimal that reads
back as the same float64); observations are flattened, each the shortest decimal that reads back
as the same float32 (also through float64, as serde_json reads it).

Usage (any Python with gymnasium and numpy; run from anywhere):

    python3 -m venv /tmp/gymvenv && /tmp/gymvenv/bin/pip install gymnasium numpy
    /tmp/gymvenv/bin/python scripts/gym_reference.py
"""

import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "classic_control"


def random_actions(seed, n):
    """A fixed pseudo-random action rule: the t-th action of numpy's PCG64 stream for `seed`."""
    actions = np.random.default_rng(seed).integers(0, n, size=10_000)
    return lambda state, t: int(actions[t])


def cartpole_balance(state, t):
    """Push towards the side the pole falls to: keeps CartPole up for 500 steps."""
    return int(state[2] + 0.5 * state[3] > 0)


def acrobot_pump(state, t):
    """Torque along the second joint's velocity: pumps energy in and swings up within 500 steps."""
    return 2 if state[3] > 0 else 0


def mountain_car_push(state, t):
    """Push in the direction of the velocity: reaches the goal within 200 steps."""
    return 2 if state[1] >= 0 else 0


CASES = [
    ("cartpole.json", "CartPole-v1", [
        ("random actions, seed 0", 0, random_actions(100, 2)),
        ("random actions, seed 1", 1, random_actions(101, 2)),
        ("random actions, seed 2", 2, random_actions(102, 2)),
        ("balancing controller, seed 3", 3, cartpole_balance),
    ]),
    ("acrobot.json", "Acrobot-v1", [
        ("random actions, seed 0", 0, random_actions(200, 3)),
        ("energy pumping, seed 1", 1, acrobot_pump),
    ]),
    ("mountain_car.json", "MountainCar-v0", [
        ("random actions, seed 0", 0, random_actions(300, 3)),
        ("push along the velocity, seed 1", 1, mountain_car_push),
    ]),
]


def f32(x):
    # Shortest decimal that reads back as the same float32, directly or through float64.
    x = np.float32(x)
    assert math.isfinite(x), x
    s = str(x)
    s = s if any(c in s for c in ".e") else s + ".0"
    assert np.float32(float(s)) == x, (s, x)
    return s


def f64(x):
    # Python's repr: the shortest decimal that reads back as the same float64.
    x = float(x)
    assert math.isfinite(x), x
    return repr(x)


def record(env_id, seed, policy):
    env = gym.make(env_id)
    env.reset(seed=seed)
    initial = [float(x) for x in env.unwrapped.state]
    actions, observations, rewards = [], [], []
    t = 0
    while True:
        action = policy(env.unwrapped.state, t)
        obs, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        observations.extend(float(x) for x in obs)
        rewards.append(reward)
        t += 1
        if terminated or truncated:
            final = [float(x) for x in env.unwrapped.state]
            return initial, actions, observations, rewards, terminated, truncated, final


def array(values, fmt):
    return "[" + ", ".join(fmt(x) for x in values) + "]"


def reference(name, seed, policy, env_id):
    initial, actions, obs, rewards, te, tr, final = record(env_id, seed, policy)
    fields = [
        ("name", json.dumps(name)),
        ("initial_state", array(initial, f64)),
        ("actions", array(actions, str)),
        ("observations", array(obs, f32)),
        ("rewards", array(rewards, f64)),
        ("terminated", json.dumps(bool(te))),
        ("truncated", json.dumps(bool(tr))),
        ("final_state", array(final, f64)),
    ]
    return "{" + ", ".join(f'"{key}": {value}' for key, value in fields) + "}"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for file, env_id, cases in CASES:
        lines = [reference(name, seed, policy, env_id) for name, seed, policy in cases]
        path = OUT / file
        path.write_text("[\n" + ",\n".join(lines) + "\n]\n")
        print(f"wrote {path} ({env_id}, {len(lines)} references)")
    print(f"gymnasium {gym.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
