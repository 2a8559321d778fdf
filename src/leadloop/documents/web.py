"""One router per kind of versioned document, from one factory: the list-and-edit page, a saved
version's page, the editor's what-if fragment, and their JSON twins under /api/v1. Every kind gets
the same guards: staff read; the kind's drafters (its editors, and for scoring the sales managers)
save drafts, try them and comment on them; only its editors activate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from leadloop.auth.model import Principal
from leadloop.core.errors import InvalidInput
from leadloop.core.yamldoc import problems_of
from leadloop.documents import handlers
from leadloop.documents.model import DocumentKind
from leadloop.store.tables import VersionedDocument
from leadloop.web.context import AppContext
from leadloop.web.deps import Ctx, Id, IdQuery, require

MAX_DOCUMENT = 200_000
FormText = Annotated[str, Form(max_length=MAX_DOCUMENT)]
CommentText = Annotated[str, Form(max_length=handlers.MAX_COMMENT + 1000)]
YamlBody = Annotated[
    str, Body(media_type="application/yaml", max_length=MAX_DOCUMENT, description="the document as YAML")
]


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        max_length=handlers.MAX_COMMENT + 1000, description="the remark, at most 4,000 characters"
    )


@dataclass(frozen=True)
class Pages:
    """How one kind shows in the browser: where it lives and what its pages say."""

    kind: DocumentKind[Any]
    items: str  # the collection in URLs: /scoring/models/7, /api/v1/scoring/models
    heading: str
    intro: str  # above the editor
    empty: str  # when no version was ever saved
    preview_button: str
    activate_button: str
    activated: str  # what activation did, said once it has
    summary_template: str  # the kind's what-if summary, inside the generic preview
    page_template: str = "documents.html"  # a kind may extend it (scoring adds its predictive model)
    extra: Callable[[Session], dict[str, Any]] | None = None  # more context for page_template

    @property
    def title(self) -> str:
        return self.kind.slug.capitalize()

    @property
    def editor_label(self) -> str:
        return f"{self.kind.noun.capitalize()} document"

    @property
    def home(self) -> str:
        return f"/{self.kind.slug}"

    @property
    def docs(self) -> str:
        return f"/{self.kind.slug}/{self.items}"

    @property
    def api(self) -> str:
        return f"/api/v1/{self.kind.slug}/{self.items}"


def _row_json(row: VersionedDocument) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "version": row.version,
        "status": row.status,
        "created_at": row.created_at,
        "activated_at": row.activated_at,
    }


def document_router(pages: Pages) -> APIRouter:
    kind = pages.kind
    read, draft, edit = require(kind.readers), require(kind.drafting), require(kind.editors)
    router = APIRouter()

    def render(
        request: Request, ctx: AppContext, template: str, who: Principal, *, status: int = 200, **context: Any
    ) -> Response:
        return ctx.templates.TemplateResponse(
            request,
            template,
            {
                "pages": pages,
                "may_edit": who.may(kind.editors),
                "may_draft": who.may(kind.drafting),
                **context,
            },
            status_code=status,
        )

    def list_page(
        request: Request,
        ctx: AppContext,
        who: Principal,
        *,
        text: str | None = None,
        start: int | None = None,
        problems: Any = None,
        status: int = 200,
    ) -> Response:
        with ctx.db.read() as session:
            rows = handlers.rows(session, kind)
            if text is None:
                text = handlers.new_version(session, kind, start)
            extra = pages.extra(session) if pages.extra else {}
        return render(
            request,
            ctx,
            pages.page_template,
            who,
            rows=rows,
            text=text,
            problems=problems or [],
            status=status,
            **extra,
        )

    @router.get(pages.home, response_class=HTMLResponse, include_in_schema=False)
    def home_page(request: Request, ctx: Ctx, start: IdQuery = None, who: Principal = read) -> Response:
        """Every saved version, and the editor: the active document as its next version, or saved
        version `start` as one."""
        return list_page(request, ctx, who, start=start)

    @router.post(f"{pages.home}/preview", response_class=HTMLResponse, include_in_schema=False)
    def preview_fragment(
        request: Request, ctx: Ctx, document: FormText = "", who: Principal = draft
    ) -> Response:
        """What-if for the text in the editor, saved or not. Writes nothing."""
        try:
            doc = kind.parse(document)
            with ctx.db.read() as session:
                summary = handlers.preview(session, kind, doc, now=ctx.clock())
        except InvalidInput as exc:
            return render(request, ctx, "_document_preview.html", who, problems=problems_of(exc))
        return render(
            request,
            ctx,
            "_document_preview.html",
            who,
            summary=summary,
            warnings=kind.warnings(doc),
            problems=[],
        )

    @router.post(pages.docs, include_in_schema=False)
    def save_page(request: Request, ctx: Ctx, document: FormText = "", who: Principal = draft) -> Response:
        try:
            with ctx.db.write() as session:
                draft = handlers.save_draft(session, kind, document, now=ctx.clock())
        except InvalidInput as exc:  # the text comes back as typed, with every problem by line
            return list_page(request, ctx, who, text=document, problems=problems_of(exc), status=422)
        return RedirectResponse(f"{pages.docs}/{draft.id}", status_code=303)

    @router.get(pages.docs + "/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, ctx: Ctx, doc_id: Id, who: Principal = read) -> Response:
        with ctx.db.read() as session:
            row, doc = handlers.load(session, kind, doc_id)
            summary = (
                None if row.status == "active" else handlers.preview(session, kind, doc, now=ctx.clock())
            )
            remarks = handlers.comments(session, kind, doc_id)
        return render(
            request,
            ctx,
            "document.html",
            who,
            row=row,
            summary=summary,
            warnings=kind.warnings(doc),
            comments=remarks,
            comment_problem=request.query_params.get("comment_problem", "")[:300],
        )

    @router.post(pages.docs + "/{doc_id}/comments", include_in_schema=False)
    def comment_page(ctx: Ctx, doc_id: Id, text: CommentText = "", who: Principal = draft) -> Response:
        try:
            with ctx.db.write() as session:
                handlers.comment(session, kind, doc_id, text, user_id=who.user_id, now=ctx.clock())
        except InvalidInput as exc:  # back to the page, saying why; nothing was saved
            return RedirectResponse(
                f"{pages.docs}/{doc_id}?{urlencode({'comment_problem': str(exc)})}#comments", status_code=303
            )
        return RedirectResponse(f"{pages.docs}/{doc_id}#comments", status_code=303)

    def activate(ctx: AppContext, doc_id: int) -> dict[str, Any]:
        with ctx.db.write() as session:
            done = handlers.activate(session, kind, doc_id, now=ctx.clock())
        return done.outcome.summary()

    @router.post(pages.docs + "/{doc_id}/activate", include_in_schema=False)
    def activate_page(ctx: Ctx, doc_id: Id, who: Principal = edit) -> Response:
        activate(ctx, doc_id)
        return RedirectResponse(f"{pages.docs}/{doc_id}?activated=1", status_code=303)

    @router.get(pages.api, tags=[kind.slug], summary=f"List the saved {kind.what} versions")
    def list_api(ctx: Ctx, who: Principal = read) -> list[dict[str, Any]]:
        """Newest first."""
        with ctx.db.read() as session:
            return [_row_json(r) for r in handlers.rows(session, kind)]

    @router.get(
        pages.api + "/{doc_id}", tags=[kind.slug], summary=f"One saved {kind.what}, with its document"
    )
    def get_api(ctx: Ctx, doc_id: Id, who: Principal = read) -> dict[str, Any]:
        with ctx.db.read() as session:
            row, _doc = handlers.load(session, kind, doc_id)
            return {**_row_json(row), "document": row.document}

    @router.post(pages.api, tags=[kind.slug], status_code=201, summary=f"Save a {kind.what} as a draft")
    def create_api(ctx: Ctx, document: YamlBody, who: Principal = draft) -> dict[str, Any]:
        """A bad document gets 422 with every problem and its line; warnings come back with the draft."""
        with ctx.db.write() as session:
            draft = handlers.save_draft(session, kind, document, now=ctx.clock())
        return {"id": draft.id, "status": "draft", "warnings": draft.warnings}

    @router.get(
        pages.api + "/{doc_id}/whatif",
        tags=[kind.slug],
        summary=f"What activating a {kind.what} would change",
    )
    def whatif_api(ctx: Ctx, doc_id: Id, who: Principal = read) -> dict[str, Any]:
        """With examples. Writes nothing."""
        with ctx.db.read() as session:
            _row, doc = handlers.load(session, kind, doc_id)
            return handlers.preview(session, kind, doc, now=ctx.clock())

    @router.get(pages.api + "/{doc_id}/comments", tags=[kind.slug], summary=f"Comments on a {kind.what}")
    def comments_api(ctx: Ctx, doc_id: Id, who: Principal = read) -> list[dict[str, Any]]:
        """Oldest first."""
        with ctx.db.read() as session:
            handlers.load(session, kind, doc_id)
            return [asdict(c) for c in handlers.comments(session, kind, doc_id)]

    @router.post(
        pages.api + "/{doc_id}/comments",
        tags=[kind.slug],
        status_code=201,
        summary=f"Comment on a {kind.what}",
    )
    def comment_api(ctx: Ctx, doc_id: Id, body: CommentBody, who: Principal = draft) -> dict[str, Any]:
        """Its drafters and editors comment; an empty or over-long comment is refused with why."""
        with ctx.db.write() as session:
            return asdict(
                handlers.comment(session, kind, doc_id, body.text, user_id=who.user_id, now=ctx.clock())
            )

    @router.post(pages.api + "/{doc_id}/activate", tags=[kind.slug], summary=f"Activate a {kind.what}")
    def activate_api(ctx: Ctx, doc_id: Id, who: Principal = edit) -> dict[str, Any]:
        """In one transaction, with what the kind does on activation (scoring recomputes every score)."""
        return {"id": doc_id, "status": "active", **activate(ctx, doc_id)}

    return router
