"""Render every page of the built docs in headless Chromium and fail on what a reader would see broken.

    python .ci/check_docs_browser.py [docs/_build/html] [--screenshots DIR]

``sphinx-build -W`` checks the sources; it cannot see what the browser makes
of them.  This script opens every ``.html`` file of the build in one headless
Chromium, driven over the DevTools protocol through a pipe (no network, no
driver, nothing but the Python standard library), waits until MathJax has
typeset the page, and reports:

* **maths**: any MathJax error element (``mjx-merror``, ``[data-mjx-error]``),
  e.g. "Double subscripts: use braces to clarify"; and maths that MathJax
  never typeset (a page with ``.math`` elements but no ``mjx-container``);
* **images** that did not load (``naturalWidth == 0`` once the image has been
  asked to load, lazy ones included);
* **resources** (stylesheets, scripts, fonts, images) whose request failed;
* **links**: every internal ``href`` must name an existing file, and its
  ``#fragment`` an element of that page with that ``id`` (or ``name``);
* **script errors**: an exception thrown by the page's JavaScript;
* **collapsed code**: every ``<details>`` is opened first, so that what it
  holds is rendered and checked like the rest, and each "Show the code" block
  (``details.show-code``) must then show code (a ``<pre>`` of nonzero height);
* **empty sidebars**: a visible "Section Navigation" column with no link in it.

Exit status 1 and one line per problem when anything is wrong, else 0 with a
summary.  ``--screenshots DIR`` also saves a full-page PNG of every page at
1280 px wide, for looking at them.
"""

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

WIDTH = 1280

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Run in each page once it has loaded: wait for MathJax, make lazy images
# load, then report what the reader sees.
PAGE_SCRIPT = r"""
(async () => {
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  // a collapsed block ("Show the code") is checked as a reader sees it once opened
  for (const d of document.querySelectorAll('details')) d.open = true;
  const hasMath = document.querySelector('.math, mjx-container') !== null;
  if (hasMath) {
    for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++)
      await sleep(50);
    if (window.MathJax && MathJax.startup && MathJax.startup.promise)
      await MathJax.startup.promise;
  }
  const images = Array.from(document.images);
  for (const img of images) { img.loading = 'eager'; }
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  // one report per formula: the rendered error and its copy in the assistive
  // MathML share one mjx-container
  const formulas = new Map();
  for (const e of document.querySelectorAll('mjx-merror, [data-mjx-error]')) {
    const formula = e.closest('mjx-container') || e;
    if (!formulas.has(formula))
      formulas.set(formula, (e.getAttribute('data-mjx-error') || e.textContent || '').trim());
  }
  const mathErrors = Array.from(formulas.values());
  const untypeset = hasMath && document.querySelector('mjx-container') === null;
  const brokenImages = images.filter(img => img.complete && img.naturalWidth === 0)
                             .map(img => img.getAttribute('src'));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'));
  const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id).concat(
    Array.from(document.querySelectorAll('a[name]')).map(e => e.getAttribute('name')));
  const emptyCode = Array.from(document.querySelectorAll('details.show-code')).filter(d =>
    !Array.from(d.querySelectorAll('pre')).some(p => p.getBoundingClientRect().height > 0)
  ).map(d => (d.querySelector('summary') || d).textContent.trim());
  // a visible "Section Navigation" sidebar with no link in it is an empty column
  const emptyNav = Array.from(document.querySelectorAll('nav.bd-docs-nav')).some(n =>
    n.getBoundingClientRect().width > 0 && n.querySelectorAll('a').length === 0);
  return {mathErrors, untypeset, brokenImages, links, ids, emptyCode, emptyNav,
          height: Math.ceil(document.documentElement.scrollHeight)};
})()
"""


class BrowserError(RuntimeError):
    """Chromium could not be started, or stopped answering."""


def find_chromium():
    """The path of a Chromium (or Chrome) executable, or None.

    Returns
    -------
    str or None
        ``$CHROMIUM`` if set, else the first of :data:`CHROMIUM_NAMES` on ``PATH``.
    """
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium, one tab, driven over ``--remote-debugging-pipe``.

    The DevTools protocol over a pipe: JSON messages separated by a NUL byte,
    written to the browser's file descriptor 3 and read from its 4.

    Parameters
    ----------
    executable : str
        The Chromium executable.
    timeout : float, optional
        Seconds to wait for any one answer or page.
    """

    def __init__(self, executable, timeout=60.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="normrnn-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # the child's fds 3 and 4 must be these pipe ends: copy them above 4 first,
        # so that neither dup2 below overwrites the other's source
        high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)

        def child_fds():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._process = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--allow-file-access-from-files",
             "--hide-scrollbars", "--mute-audio", f"--user-data-dir={self._profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, close_fds=False)
        for fd in (to_browser_r, from_browser_w, high_r, high_w):
            os.close(fd)
        self._write = os.fdopen(to_browser_w, "wb", buffering=0)
        self._read = os.fdopen(from_browser_r, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        self._events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network"):
            self.call(f"{domain}.enable", session=self.session)
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=WIDTH,
                  height=900, deviceScaleFactor=1, mobile=False)

    # -- the protocol -------------------------------------------------------------

    def _message(self):
        while b"\0" not in self._buffer:
            chunk = os.read(self._read.fileno(), 1 << 20)
            if not chunk:
                raise BrowserError("chromium closed the DevTools pipe "
                                   f"(exit status {self._process.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, session=None, **params):
        """Send one DevTools command and return its result, keeping events for later."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._write.write(json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def wait_for(self, method):
        """Wait for an event of this session, returning the events seen until then."""
        seen = []
        deadline = time.monotonic() + self.timeout
        while True:
            while self._events:
                event = self._events.pop(0)
                seen.append(event)
                if event.get("method") == method and event.get("sessionId") == self.session:
                    return seen
            if time.monotonic() > deadline:
                raise BrowserError(f"no {method} within {self.timeout} s")
            self._events.append(self._message())

    # -- pages ----------------------------------------------------------------------

    def open(self, url):
        """Load ``url``, run :data:`PAGE_SCRIPT` and return its findings plus failed loads."""
        self._events.clear()
        self.call("Page.navigate", session=self.session, url=url)
        events = self.wait_for("Page.loadEventFired")
        found = self.call("Runtime.evaluate", session=self.session, expression=PAGE_SCRIPT,
                          awaitPromise=True, returnByValue=True, timeout=self.timeout * 1000)
        if "exceptionDetails" in found:
            raise BrowserError(f"{url}: the check script raised "
                               f"{found['exceptionDetails'].get('text')}")
        result = found["result"]["value"]
        events += self._events
        self._events = []
        requested = {}
        result["failedLoads"], result["scriptErrors"] = [], []
        for event in events:
            params = event.get("params", {})
            if event.get("method") == "Network.requestWillBeSent":
                requested[params["requestId"]] = params["request"]["url"]
            elif event.get("method") == "Network.loadingFailed" and not params.get("canceled"):
                result["failedLoads"].append(
                    f"{requested.get(params['requestId'], '?')} ({params.get('errorText')})")
            elif event.get("method") == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                text = details.get("exception", {}).get("description") or details.get("text")
                result["scriptErrors"].append(str(text).splitlines()[0])
        return result

    def screenshot(self, path, height):
        """Save a PNG of the whole page, :data:`WIDTH` px wide."""
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=WIDTH,
                  height=max(600, min(height, 16000)), deviceScaleFactor=1, mobile=False)
        shot = self.call("Page.captureScreenshot", session=self.session, format="png")
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(shot["data"]))
        self.call("Emulation.setDeviceMetricsOverride", session=self.session, width=WIDTH,
                  height=900, deviceScaleFactor=1, mobile=False)

    def close(self):
        """Stop the browser and remove its profile."""
        try:
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._write, self._read):
            stream.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- links ---------------------------------------------------------------------------

def is_template(path):
    """Whether an ``.html`` file is an unrendered Jinja template, not a page.

    The pydata theme copies one into ``_static`` (``webpack-macros.html``);
    no page links to it and no reader opens it.
    """
    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    return "{{" in text and ("{%" in text or "pathto(" in text)


def html_pages(root):
    """Every ``.html`` page under ``root`` (templates left out), relative to it, sorted."""
    pages = []
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".html") and not is_template(path):
                pages.append(os.path.relpath(path, root))
    return sorted(pages)


def internal_target(root, page, href):
    """Where an ``href`` of ``page`` points inside the build, or None if it leaves it.

    Returns
    -------
    tuple of (str, str) or None
        The target file relative to ``root`` (``page`` itself for a bare
        ``#fragment``) and the fragment (``""`` if none).
    """
    parts = urllib.parse.urlsplit(href)
    if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
        return None
    path = urllib.parse.unquote(parts.path)
    fragment = urllib.parse.unquote(parts.fragment)
    if not path:
        return page, fragment
    target = os.path.normpath(os.path.join(os.path.dirname(page), path))
    if os.path.isdir(os.path.join(root, target)):
        target = os.path.join(target, "index.html")
    return target, fragment


def link_problems(root, links, ids):
    """The broken internal links: missing files and missing anchors.

    Parameters
    ----------
    root : str
        The build directory.
    links : dict
        ``{page: [href, ...]}``.
    ids : dict
        ``{page: set of ids}`` of every rendered page.

    Returns
    -------
    list of str
    """
    problems = []
    for page, hrefs in sorted(links.items()):
        for href in sorted(set(hrefs)):
            if href in ("#", ""):
                continue
            found = internal_target(root, page, href)
            if found is None:
                continue
            target, fragment = found
            if target.startswith(".."):
                problems.append(f"{page}: link {href!r} leaves the site")
            elif not os.path.isfile(os.path.join(root, target)):
                problems.append(f"{page}: link {href!r}: no file {target}")
            elif fragment and target in ids and fragment not in ids[target]:
                problems.append(f"{page}: link {href!r}: {target} has no anchor #{fragment}")
    return problems


def page_problems(page, found):
    """The problems the browser found on one page (maths, images, loads, scripts)."""
    problems = [f"{page}: MathJax error: {text}" for text in found["mathErrors"]]
    if found["untypeset"]:
        problems.append(f"{page}: maths left untypeset (MathJax did not run)")
    problems += [f"{page}: image did not load: {src}" for src in found["brokenImages"]]
    problems += [f"{page}: failed to load {what}" for what in found["failedLoads"]]
    problems += [f"{page}: script error: {text}" for text in found["scriptErrors"]]
    problems += [f"{page}: {summary!r} opens on no visible code" for summary in found["emptyCode"]]
    if found.get("emptyNav"):
        problems.append(f"{page}: an empty 'Section Navigation' sidebar (no page under it)")
    return problems


def check_site(root, *, executable=None, screenshots=None, pages=None, progress=None):
    """Render every page of a built site and return every problem found.

    Parameters
    ----------
    root : str
        The build directory (``docs/_build/html``).
    executable : str, optional
        Chromium; :func:`find_chromium` by default.
    screenshots : str, optional
        A folder to save a full-page PNG of every page into.
    pages : list of str, optional
        Pages relative to ``root`` (default: every ``.html`` file).
    progress : callable, optional
        Called with each page's name before it is opened.

    Returns
    -------
    problems : list of str
        One line per problem, ``page: what``.
    count : int
        How many pages were rendered.
    """
    root = os.path.abspath(root)
    executable = executable or find_chromium()
    if executable is None:
        raise BrowserError("no chromium on PATH (apt-get install chromium), or set $CHROMIUM")
    pages = html_pages(root) if pages is None else pages
    problems, links, ids = [], {}, {}
    if screenshots:
        os.makedirs(screenshots, exist_ok=True)
    with Browser(executable) as browser:
        for page in pages:
            if progress:
                progress(page)
            found = browser.open("file://" + urllib.parse.quote(os.path.join(root, page)))
            problems += page_problems(page, found)
            links[page] = found["links"]
            ids[page] = set(found["ids"])
            if screenshots:
                name = page.replace(os.sep, "__").removesuffix(".html") + ".png"
                browser.screenshot(os.path.join(screenshots, name), found["height"])
    return problems + link_problems(root, links, ids), len(pages)


def main(argv=None):
    """Check a built site; print the problems; exit 1 if there are any.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 when no page has a problem, 1 when one has, 2 when
        the site cannot be checked (no ``index.html``, or the browser fails).
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default="docs/_build/html",
                        help="the built HTML (default: docs/_build/html)")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="also save a full-page PNG of every page, 1280 px wide")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.root, "index.html")):
        print(f"check_docs_browser: error: no index.html in {args.root}: build the docs first",
              file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        problems, count = check_site(args.root, screenshots=args.screenshots)
    except BrowserError as error:
        print(f"check_docs_browser: error: {error}", file=sys.stderr)
        return 2
    seconds = time.monotonic() - start
    for line in problems:
        print(line)
    print(f"check_docs_browser: {count} pages rendered in {seconds:.1f} s: "
          f"{len(problems)} problem{'s' * (len(problems) != 1)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
