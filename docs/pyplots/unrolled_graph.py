"""The computation graph of NormRNN unrolled over a 5-token document (title m = 2).

Black arrows are the forward pass, red dashed arrows the gradients flowing back.
The shaded band is the only truly sequential chain: S s_t forward, S^T delta_t
backward.  Drawn by the plot directive of docs/bptt.rst at every build.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

T, M = 5, 2                      # tokens, title length
D = 2.6                          # distance from s_t to s_{t+1}
FWD = dict(color="black", lw=1.3)
BWD = dict(color="#c0392b", lw=1.3, linestyle=(0, (4, 3)))


def node(ax, x, y, text, *, face="white", edge="black", width=0.62, height=0.42,
         fontsize=13, alpha=1.0):
    box = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                         boxstyle="round,pad=0.04,rounding_size=0.12",
                         facecolor=face, edgecolor=edge, lw=1.2, alpha=alpha, zorder=3)
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4,
            alpha=alpha)


def arrow(ax, start, end, style, *, label=None, label_at=0.5, offset=(0, 0),
          rad=0.0, fontsize=10, color=None):
    patch = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=13,
                            shrinkA=17, shrinkB=17, connectionstyle=f"arc3,rad={rad}",
                            zorder=2, **style)
    ax.add_patch(patch)
    if label:
        x = start[0] + label_at * (end[0] - start[0]) + offset[0]
        y = start[1] + label_at * (end[1] - start[1]) + offset[1]
        ax.text(x, y, label, fontsize=fontsize, ha="center", va="center",
                color=color or style["color"], zorder=5,
                bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.85))


def draw(ax):
    y_loss, y_logit, y_state, y_u, y_x = 2.5, 1.35, 0.0, -1.35, -2.5
    # the sequential chain
    ax.add_patch(FancyBboxPatch((-0.55, -0.42), D * (T - 1) + 1.1, 0.84,
                                boxstyle="round,pad=0.02,rounding_size=0.3",
                                facecolor="#fdebd0", edgecolor="none", zorder=0))
    ax.text(D * (T - 1) + 0.75, 0.0, "sequential:\n$S s_t$ forward,\n"
            r"$S^\top\delta_t$ backward", fontsize=10, va="center", ha="left",
            color="#935116")
    for t in range(T):
        xs = D * t
        scored = t >= M
        node(ax, xs, y_state, f"$s_{t}$", face="#d6eaf8")
        # logits and loss
        alpha = 1.0 if scored else 0.35
        node(ax, xs, y_logit, f"$z_{t}$", alpha=alpha)
        node(ax, xs, y_loss, f"$L_{t}$" if scored else "no loss", alpha=alpha,
             face="#fadbd8" if scored else "#eeeeee", fontsize=13 if scored else 9,
             width=0.75)
        arrow(ax, (xs, y_state), (xs, y_logit), FWD, label="$E$", offset=(-0.22, 0))
        if scored:
            arrow(ax, (xs, y_logit), (xs, y_loss), FWD, label=f"$x_{t}$", offset=(-0.22, 0))
            arrow(ax, (xs + 0.18, y_loss), (xs + 0.18, y_logit), BWD, label=f"$dz_{t}$",
                  offset=(0.33, 0))
            arrow(ax, (xs + 0.18, y_logit), (xs + 0.18, y_state), BWD,
                  label=r"$E^\top dz$", offset=(0.45, 0))
        else:
            ax.text(xs + 0.42, y_logit, "title", fontsize=9, ha="left", va="center",
                    color="#777777")
        if t == T - 1:
            continue
        xa = xs + D / 2
        node(ax, xa, y_state, f"$a_{t}$", face="#fef9e7")
        node(ax, xa, y_u, f"$u_{t}$")
        node(ax, xa, y_x, f"$x_{t}$", face="#e8f8f5")
        arrow(ax, (xa, y_x), (xa, y_u), FWD, label=r"$f(E_{x})$", offset=(-0.42, 0))
        arrow(ax, (xa, y_u), (xa, y_state), FWD, label=r"$W_{ih}, b$", label_at=0.32,
              offset=(-0.42, 0))
        arrow(ax, (xa + 0.18, y_state), (xa + 0.18, y_u), BWD,
              label=r"$W_{ih}^\top\delta$", label_at=0.8, offset=(0.5, 0))
        arrow(ax, (xs, y_state), (xa, y_state), FWD, label="$S$", offset=(0, 0.3),
              color="black")
        arrow(ax, (xa, y_state), (xs + D, y_state), FWD, label="$f$", offset=(0, 0.3))
        arrow(ax, (xs + D, y_state - 0.1), (xa, y_state - 0.1), BWD, rad=-0.5,
              label=r"$\delta_{%d}$" % t, offset=(0, -0.5))
        arrow(ax, (xa, y_state - 0.1), (xs, y_state - 0.1), BWD, rad=-0.5,
              label=r"$S^\top\delta_{%d}$" % t, offset=(0, -0.5))
    ax.plot([], [], **FWD, label="forward")
    ax.plot([], [], **BWD, label="backward (gradients)")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 1.02), frameon=False, fontsize=10,
              ncol=2)
    ax.set_xlim(-0.8, D * (T - 1) + 2.6)
    ax.set_ylim(-2.9, 2.95)
    ax.set_aspect("equal")
    ax.axis("off")


fig, ax = plt.subplots(figsize=(13, 6.2))
draw(ax)
fig.tight_layout()
