"""The API's contract as OpenAPI 3.0 data, served at /openapi.json; tests check the server against it."""
from __future__ import annotations

from .. import __version__
from ..config import ServiceConfig

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
_ITEM = {"type": "object", "required": ["index", "name", "status", "error", "flags", "cached"], "properties": {
    "index": {"type": "integer"}, "name": {"type": "string"},
    "status": {"type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"]},
    "error": {"type": "string"}, "flags": {"type": "array", "items": {}}, "cached": {"type": "boolean"},
    "attempts": {"type": "integer", "description": "times a worker started it; over 1 after a redelivery"},
    "worker": {"type": "string", "description": "the worker that finished it"}}}
_JOB = {"type": "object", "required": ["id", "kind", "state", "progress", "items"], "properties": {
    "id": {"type": "string"}, "kind": {"type": "string", "enum": ["cutout", "images", "video"]},
    "state": {"type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"]},
    "progress": {"type": "number", "minimum": 0, "maximum": 1},
    "created": {"type": "number"}, "expires": {"type": "number"}, "options": {"type": "object"},
    "items": {"type": "array", "items": _ITEM}, "error": {"type": "string"}, "result": {"type": "string"},
    "warnings": {"type": "array", "items": {"type": "string"}}}}
_ACCEPTED = {"type": "object", "required": ["id", "state"],
             "properties": {"id": {"type": "string"}, "state": {"type": "string"}}}
_OPTIONS = [
    {"name": "background", "in": "query", "schema": {"type": "string"},
     "description": "transparent, white, black, blur[:N], color:#RRGGBB, gradient:#RRGGBB,#RRGGBB"},
    {"name": "model", "in": "query", "schema": {"type": "string"}, "description": "a model name"},
    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["png", "jpg", "webp", "mp4", "mov"]}},
    {"name": "mask_only", "in": "query", "schema": {"type": "boolean"}},
    {"name": "preset", "in": "query", "schema": {"type": "string"}, "description": "a preset name"},
]
_JOB_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _errors(*codes: int) -> dict:
    return {str(c): {"description": "refused; `field` names what", "content": {"application/json": {"schema": _ERROR}}}
            for c in codes}


def _binary(*types: str) -> dict:
    return {t: {"schema": {"type": "string", "format": "binary"}} for t in types}


def spec(service: ServiceConfig, max_pixels: int) -> dict:
    auth = [{"bearer": []}]
    common = _errors(400, 401, 404, 413, 415, 429)
    upload = {"type": "object", "properties": {
        "image": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "zip": {"type": "string", "format": "binary"}, "video": {"type": "string", "format": "binary"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "livematte API", "version": __version__,
                 "description": f"Cut-outs of images and videos. Uploads up to {service.max_upload_bytes} bytes, "
                                f"{max_pixels} pixels per image; results kept {service.result_ttl_s} s."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/healthz": {"get": {"summary": "broker, result store and worker count", "responses": {
                "200": {"description": "healthy", "content": {"application/json": {"schema": {"type": "object"}}}},
                "503": {"description": "broker or result store unreachable",
                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/v1/cutout": {"post": {
                "summary": "one image in, its cut-out out (202 and a job past the time budget)",
                "security": auth, "parameters": _OPTIONS,
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
                        "image": {"type": "string", "format": "binary"}}}},
                    **_binary("image/png", "image/jpeg", "image/webp")}},
                "responses": {"200": {"description": "the cut-out", "content": _binary(
                    "image/png", "image/jpeg", "image/webp")},
                    "202": {"description": "still running: poll the job",
                            "content": {"application/json": {"schema": _ACCEPTED}}},
                    **common, **_errors(422)}}},
            "/v1/jobs": {"post": {
                "summary": "a batch (image fields or a zip) or one video", "security": auth, "parameters": _OPTIONS,
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload}}},
                "responses": {"202": {"description": "queued",
                                      "content": {"application/json": {"schema": _ACCEPTED}}}, **common}}},
            "/v1/jobs/{id}": {
                "get": {"summary": "state, progress and items", "security": auth, "parameters": [_JOB_ID],
                        "responses": {"200": {"description": "the job",
                                              "content": {"application/json": {"schema": _JOB}}}, **common}},
                "delete": {"summary": "cancel the job and remove its files", "security": auth,
                           "parameters": [_JOB_ID],
                           "responses": {"200": {"description": "cancelled",
                                                 "content": {"application/json": {"schema": _ACCEPTED}}},
                                         **common}}},
            "/v1/jobs/{id}/result": {"get": {
                "summary": "a zip of the outputs, the cut-out, or the video", "security": auth,
                "parameters": [_JOB_ID],
                "responses": {"200": {"description": "the result", "content": _binary(
                    "application/zip", "image/png", "image/jpeg", "image/webp", "video/mp4", "video/quicktime")},
                    **common, **_errors(409, 410)}}},
        },
    }
