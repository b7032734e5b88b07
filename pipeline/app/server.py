"""The app's routes: thin, like the commands. Each reads the request, calls the library (the
:class:`~pipeline.app.store.Project` cache, the stages' own functions) and renders a template
beside this module; htmx asks for a page's fragment (``HX-Request``) and gets only that.

Built on Starlette (routing, requests, responses, static files) with Jinja2 templates and
htmx 2 (vendored in ``static/``): see ``docs/guide/app.md`` for why not FastAPI or NiceGUI.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pipeline.app import jobs as background
from pipeline.app import views
from pipeline.app.security import CSRF_FIELD, LOOPBACK_NAMES, Guard, Secrets
from pipeline.app.store import PAGE_SIZES, SORTS, Project

HERE = Path(__file__).parent
PAGES = [("queue", "Queue"), ("followers", "Followers"), ("retrain", "Retrain"),
         ("act", "Act"), ("tricksters", "Tricksters"), ("trends", "Trends"),
         ("model", "Model")]


def _templates() -> Jinja2Templates:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = lambda v: "" if v is None else f"{100 * v:.0f}%"
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    return Jinja2Templates(env=env)


class App:
    """The routes over one project, its background jobs and its run's secrets."""

    def __init__(self, project: Project, keys: Secrets) -> None:
        self.project = project
        self.keys = keys
        self.jobs = background.Jobs()
        self.templates = _templates()
        self.plans: dict[str, Any] = {}
        self._plans_lock = threading.Lock()

    # ------------------------------------------------------------------ helpers

    def render(self, request: Request, name: str, page: str, status_code: int = 200,
               **context: Any) -> Response:
        partial = (request.headers.get("hx-request") == "true"
                   and not request.headers.get("hx-history-restore-request"))
        context.update(request=request, csrf=self.keys.csrf, csrf_field=CSRF_FIELD,
                       pages=PAGES, page=page, handle=self.project.cfg.user.handle,
                       partial=partial, running=self.jobs.running())
        return self.templates.TemplateResponse(request, name, context,
                                               status_code=status_code)

    def message(self, request: Request, page: str, status_code: int, title: str, text: str
                ) -> Response:
        """A refusal a person can act on, as a page (or, for htmx, the line that says it)."""
        return self.render(request, "message.html.j2", page, status_code=status_code,
                           title=title, text=text)

    @staticmethod
    def _int(value: Any, default: int) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return default

    def _after_post(self, request: Request, url: str) -> Response | None:
        """A plain form post (no htmx) is answered by a redirect to the page (PRG)."""
        if request.headers.get("hx-request") != "true":
            return RedirectResponse(url, status_code=303)
        return None

    # ------------------------------------------------------------------ queue

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/queue", status_code=303)

    def _queue_page(self, request: Request, position: int, note: str = "") -> Response:
        project = self.project
        if not project.has_scores():
            return self.render(request, "empty.html.j2", "queue", what="queue",
                               path=str(project.cfg.score.out))
        session = project.queue()
        total = len(session.ids)
        position = min(max(position, 0), total)
        card = project.card(session.ids[position]) if position < total else None
        return self.render(request, "queue.html.j2", "queue", card=card, position=position,
                           total=total, answered=len(session.answers), note=note,
                           can_undo=bool(session.answers),
                           bars=views.bar_chart(card["bars"]) if card else None,
                           decisions_path=str(project.cfg.report.decisions_out))

    async def queue(self, request: Request) -> Response:
        return self._queue_page(request, self._int(request.query_params.get("at"), 0))

    async def answer(self, request: Request) -> Response:
        form = await request.form()
        account_id = str(form.get("account_id", ""))
        what = form.get("answer")
        if what not in ("follow", "skip") or not account_id:
            return Response("answer must be follow or skip, for an account", status_code=400)
        session = self.project.queue()
        if account_id not in session.ids:
            return Response("not an account of the queue", status_code=400)
        position = session.ids.index(account_id)
        done = self.project.answer(position, account_id, what == "follow")
        said = "follow back" if done.follow_back else "skip"
        note = f"saved: @{done.handle or done.account_id}: {said}"
        return (self._after_post(request, f"/queue?at={position + 1}")
                or self._queue_page(request, position + 1, note))

    async def undo(self, request: Request) -> Response:
        last = self.project.undo()
        if last is None:
            return (self._after_post(request, "/queue")
                    or self._queue_page(request, 0, "nothing to undo"))
        note = f"undone: @{last.handle or last.account_id}"
        return (self._after_post(request, f"/queue?at={last.position}")
                or self._queue_page(request, last.position, note))

    # ------------------------------------------------------------------ followers

    async def followers(self, request: Request) -> Response:
        project = self.project
        if not project.has_scores():
            return self.render(request, "empty.html.j2", "followers", what="followers",
                               path=str(project.cfg.score.out))
        q = request.query_params
        args = {"q": q.get("q", "")[:200], "verdict": q.get("verdict", ""),
                "decided": q.get("decided", ""), "against": q.get("against", ""),
                "sort": q.get("sort", "uncertain") if q.get("sort") in SORTS else "uncertain",
                "desc": q.get("desc") == "1",
                "per_page": self._int(q.get("per_page"), 50)}
        result = project.followers(page=self._int(q.get("page"), 1), **args)
        return self.render(request, "followers.html.j2", "followers", result=result,
                           args=args, sorts=SORTS, page_sizes=PAGE_SIZES,
                           criteria=views.criteria(), verdicts=views.VERDICTS,
                           link=views.query_link(args))

    # ------------------------------------------------------------------ retrain

    async def retrain_page(self, request: Request) -> Response:
        cfg = self.project.cfg
        return self.render(request, "retrain.html.j2", "retrain", kind="retrain",
                           job=self.jobs.latest.get("retrain"),
                           figures=background.model_figures(cfg),
                           stages=background.dvc_stages(self.project.root),
                           n_decisions=len(self.project.decisions()))

    async def retrain_start(self, request: Request) -> Response:
        job, work = background.retrain(self.project.cfg, self.project.root,
                                       on_done=self.project.reset_queue)
        started = self.jobs.start(job, work)
        if started is None:
            return self.message(request, "retrain", 409, "Busy",
                                "Another job is running: wait until it ends.")
        return (self._after_post(request, "/retrain")
                or self.render(request, "_job.html.j2", "retrain", job=job, kind="retrain"))

    async def retrain_status(self, request: Request) -> Response:
        job = self.jobs.latest.get("retrain")
        extra = {}
        if job is not None and job.state == "done":  # the figures above move too
            extra = {"figures": background.model_figures(self.project.cfg),
                     "n_decisions": len(self.project.decisions())}
        return self.render(request, "_job.html.j2", "retrain", job=job, kind="retrain",
                           **extra)

    # ------------------------------------------------------------------ act

    async def act_page(self, request: Request) -> Response:
        q = request.query_params
        platforms = views.fetched_platforms(self.project.cfg)
        platform = q.get("platform") if q.get("platform") in platforms else (
            platforms[0] if platforms else None)
        tricksters = q.get("tricksters") == "1"
        plan, error = (None, None)
        if platform and q.get("plan") == "1":
            plan, error = views.plan_or_error(self.project.cfg, platform, tricksters)
        return self.render(request, "act.html.j2", "act", platforms=platforms,
                           platform=platform, tricksters=tricksters, plan=plan, error=error,
                           limits=views.limits(self.project.cfg, platform),
                           max_actions=self.project.cfg.apply.max_actions,
                           logs=views.action_logs(self.project.cfg),
                           job=self.jobs.latest.get("act"))

    async def act_confirm(self, request: Request) -> Response:
        form = await request.form()
        cfg = self.project.cfg
        platforms = views.fetched_platforms(cfg)
        undo = form.get("undo")
        if undo:
            log = views.log_path(cfg, str(undo))
            if log is None:
                return Response("no such action log", status_code=404)
            plan, error = views.plan_or_error(cfg, views.log_platform(log), False, undo=log)
        else:
            platform = form.get("platform")
            if platform not in platforms:
                return Response("no complete fetch of that platform", status_code=400)
            plan, error = views.plan_or_error(cfg, str(platform), form.get("tricksters") == "1")
        if error:
            return self.render(request, "act_confirm.html.j2", "act", plan=None, error=error)
        plan_id = views.new_id()
        with self._plans_lock:
            self.plans = {plan_id: plan}  # only the plan on screen can be carried out
        return self.render(request, "act_confirm.html.j2", "act", plan=plan, plan_id=plan_id,
                           error=None)

    async def act_run(self, request: Request) -> Response:
        form = await request.form()
        with self._plans_lock:
            plan = self.plans.pop(str(form.get("plan_id", "")), None)
        if plan is None or form.get("confirm") != "yes":
            return self.message(request, "act", 400, "Not confirmed",
                                "Only the plan on the confirmation page can be carried out, "
                                "once: make the plan again.")
        job, work = background.carry_out(self.project.cfg, plan)
        if self.jobs.start(job, work) is None:
            return self.message(request, "act", 409, "Busy",
                                "Another job is running: wait until it ends.")
        return (self._after_post(request, "/act")
                or self.render(request, "_job.html.j2", "act", job=job, kind="act"))

    async def act_status(self, request: Request) -> Response:
        return self.render(request, "_job.html.j2", "act", job=self.jobs.latest.get("act"),
                           kind="act")

    async def act_log(self, request: Request) -> Response:
        log = views.log_path(self.project.cfg, request.path_params["name"])
        if log is None:
            return Response("no such action log", status_code=404)
        from pipeline.stages.apply import read_log

        return self.render(request, "act_log.html.j2", "act", name=log.name,
                           entries=read_log(log))

    # ------------------------------------------------------------------ the rest

    async def tricksters(self, request: Request) -> Response:
        return self.render(request, "tricksters.html.j2", "tricksters",
                           **views.tricksters(self.project.cfg))

    async def trends(self, request: Request) -> Response:
        return self.render(request, "trends.html.j2", "trends",
                           **views.trends(self.project.cfg))

    async def model(self, request: Request) -> Response:
        scores = self.project.scores() if self.project.has_scores() else None
        return self.render(request, "model.html.j2", "model",
                           **views.model(self.project.cfg, scores))

    async def image(self, request: Request) -> Response:
        path = views.image_path(self.project.cfg, request.path_params["name"])
        if path is None or not path.is_file():
            return Response("not found", status_code=404)
        return FileResponse(path, media_type="image/png")


def create_app(project: Project, keys: Secrets, port: int,
               hosts: tuple[str, ...] = LOOPBACK_NAMES, on_sign_in=None) -> Guard:
    """The ASGI app: routes behind the guard (:mod:`pipeline.app.security`)."""
    app = App(project, keys)
    routes = [
        Route("/", app.home),
        Route("/queue", app.queue),
        Route("/queue/answer", app.answer, methods=["POST"]),
        Route("/queue/undo", app.undo, methods=["POST"]),
        Route("/followers", app.followers),
        Route("/retrain", app.retrain_page),
        Route("/retrain/run", app.retrain_start, methods=["POST"]),
        Route("/retrain/status", app.retrain_status),
        Route("/act", app.act_page),
        Route("/act/confirm", app.act_confirm, methods=["POST"]),
        Route("/act/run", app.act_run, methods=["POST"]),
        Route("/act/status", app.act_status),
        Route("/act/log/{name}", app.act_log),
        Route("/tricksters", app.tricksters),
        Route("/trends", app.trends),
        Route("/model", app.model),
        Route("/img/{name}", app.image),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    starlette = Starlette(routes=routes)
    starlette.state.app = app
    return Guard(starlette, keys, port, hosts, on_sign_in)
