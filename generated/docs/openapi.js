// generated from openapi/openapi.yaml by scripts/regenerate; do not edit
window.DECLARATION_OTP_SPEC = {
 "openapi": "3.0.3",
 "info": {
  "title": "declaration-otp — eHealth Declaration Request V3 OTP API",
  "version": "1.0.0",
  "description": "`declaration-otp` is a small re-implementation of the part of Ukraine's eHealth (ЕСОЗ)\nintegration layer that lets a medical information system (MIS) create a **declaration request**\n(a patient choosing a family doctor) and confirm it with an **SMS one-time code** (OTP).\n\nFlow:\n\n1. `POST /api/v3/declaration_requests` creates a request in status `NEW`. When the patient's\n   authentication method is `OTP`, a verification code is generated and one SMS is queued to the\n   patient's phone.\n2. If the SMS did not arrive (or the code expired), the MIS calls\n   `POST /api/v3/declaration_requests/{id}/actions/resend_otp`\n   (method [API-005-004-002-0084]). The previous code is cancelled and a new one is sent.\n3. The doctor enters the code the patient read out: `PATCH …/actions/approve` with\n   `verification_code`. A request can also be rejected with `PATCH …/actions/reject`.\n\n## Envelope\n\nEvery response body is a JSON object in the eHealth envelope:\n\n* success (object): `{\"meta\": {...}, \"data\": {...}}`, optionally with `urgent`;\n* success (list): `{\"meta\": {..., \"type\": \"list\"}, \"data\": [...], \"paging\": {...}}`;\n* error: `{\"meta\": {...}, \"error\": {\"type\": ..., \"message\": ..., \"invalid\": [...]}}`.\n\n`meta.code` repeats the HTTP status, `meta.url` is the requested URL, `meta.type` is `object` or\n`list` and `meta.request_id` echoes the `X-Request-ID` request header (a new id is generated when\nthe client did not send one). The same id is returned in the `X-Request-ID` response header.\n\n## Errors\n\n`error.type` is one of `request_malformed` (400), `access_denied` (401), `forbidden` (403, and\n422 for a wrong verification code), `not_found` (404), `request_conflict` (409),\n`content_type_invalid` (415), `validation_failed` (422), `too_many_requests` (429) and\n`internal_error` (500, 503). Validation errors (422 `validation_failed`) list every violation in\n`error.invalid` with a JSONPath (`$.person_id`) or a parameter name as `entry`.\n\n## Authentication\n\nEvery operation requires `Authorization: Bearer <token>`. Tokens are issued by the operator with\n`declaration-otp token issue`; each token belongs to one legal entity (the MIS client) and carries\na set of scopes. A missing or invalid token gives 401 `access_denied`; a token without the scope an\noperation requires gives 403 `forbidden`. A client only sees declaration requests of its own legal\nentity: requests of other legal entities answer 404.\n"
 },
 "servers": [
  {
   "url": "/"
  }
 ],
 "tags": [
  {
   "name": "Declaration Requests",
   "description": "Declaration requests V3 and the OTP that confirms them."
  },
  {
   "name": "Authentication",
   "description": "Access tokens for API clients (OAuth2 client credentials over local tokens)."
  },
  {
   "name": "OTP Verification",
   "description": "The upstream OTP service's operations on the same engine: send a code to a phone, check it,\nand ask whether a phone was ever verified. Same rules as the declaration flow: codes kept only\nas keyed hashes, a lifetime, limited attempts, per-phone send limits.\n"
  },
  {
   "name": "SMS Delivery",
   "description": "Delivery status reports from SMS providers."
  }
 ],
 "security": [
  {
   "oauth2": []
  }
 ],
 "paths": {
  "/api/v3/declaration_requests": {
   "post": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.create_declaration_request",
    "summary": "Create Declaration Request V3",
    "description": "Creates a declaration request in status `NEW` for an existing person, an employee (doctor) of\nthe caller's legal entity and a division of that legal entity.\n\n* `person_id`, `employee_id`, `division_id` must reference existing active records, otherwise\n  404 `not_found`. The employee and the division must belong to the caller's legal entity.\n* `authorize_with` optionally selects which of the person's authentication methods is used;\n  by default the person's first method is used.\n* Pending (`NEW`/`APPROVED`) requests of the same person, employee and legal entity are\n  cancelled (`CANCELLED`).\n* When the authentication method is `OTP`, a verification code is created and exactly one SMS\n  is queued to the person's phone, in the same transaction. If the phone's send limits are\n  exhausted, nothing is created and 429 `too_many_requests` is returned with `Retry-After`.\n\nThe response carries the created request in `data` and the authentication method in\n`urgent.authentication_method_current`, with the phone number masked (`+38093*****85`).\n",
    "security": [
     {
      "oauth2": [
       "declaration_request:write"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/DeclarationRequestCreate"
       },
       "example": {
        "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
        "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
        "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
        "authorize_with": "5a8e4b4c-2f16-4b2f-a5d6-4a9a7a0c3e21"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "Declaration request created.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DeclarationRequestCreatedResponse"
        },
        "example": {
         "meta": {
          "code": 201,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"
         },
         "data": {
          "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "status": "NEW",
          "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
          "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
          "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
          "legal_entity_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
          "declaration_id": "2521ebd1-8aa9-4e0c-b69b-8e9c9d7b6ae3",
          "parent_declaration_id": null,
          "declaration_number": "0000-12H4-245D",
          "start_date": "2024-05-01",
          "end_date": "2034-05-01",
          "channel": "MIS",
          "authorize_with": "5a8e4b4c-2f16-4b2f-a5d6-4a9a7a0c3e21",
          "authentication_method_current": {
           "type": "OTP",
           "number": "+38093*****85"
          },
          "data_to_be_signed": {
           "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
           "declaration_number": "0000-12H4-245D",
           "start_date": "2024-05-01",
           "end_date": "2034-05-01",
           "scope": "family_doctor",
           "channel": "MIS",
           "person": {
            "id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
            "first_name": "Петро",
            "last_name": "Іванов",
            "second_name": "Миколайович",
            "birth_date": "1991-08-19",
            "authentication_methods": [
             {
              "type": "OTP",
              "phone_number": "+38093*****85"
             }
            ]
           },
           "employee": {
            "id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
            "position": "P2",
            "employee_type": "DOCTOR",
            "party": {
             "first_name": "Олена",
             "last_name": "Коваленко",
             "second_name": "Петрівна"
            }
           },
           "division": {
            "id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
            "name": "Бориспільське відділення Клініки Ноунейм",
            "type": "CLINIC"
           },
           "legal_entity": {
            "id": "8b797c23-ba47-45f2-bc0f-521013e01074",
            "name": "Клініка Ноунейм",
            "short_name": "Ноунейм",
            "edrpou": "38782323"
           }
          },
          "inserted_at": "2024-05-01T09:15:42.123456Z",
          "updated_at": "2024-05-01T09:15:42.123456Z",
          "inserted_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77",
          "updated_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77"
         },
         "urgent": {
          "authentication_method_current": {
           "type": "OTP",
           "number": "+38093*****85"
          }
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/CreateNotFound"
     },
     "409": {
      "$ref": "#/components/responses/CreateConflict"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/CreateValidationFailed"
     },
     "429": {
      "$ref": "#/components/responses/TooManyRequests"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   },
   "get": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.list_declaration_requests",
    "summary": "Get Declaration Requests List V3",
    "description": "Lists declaration requests of the caller's legal entity, newest first, page by page.\nOptional filters: `status` and `employee_id`. Items are short: no `data_to_be_signed` and no\nauthentication method.\n",
    "security": [
     {
      "oauth2": [
       "declaration_request:read"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/RequestId"
     },
     {
      "name": "status",
      "in": "query",
      "required": false,
      "description": "Only requests in this status.",
      "schema": {
       "type": "string",
       "enum": [
        "NEW",
        "APPROVED",
        "SIGNED",
        "REJECTED",
        "CANCELLED",
        "EXPIRED"
       ]
      },
      "example": "NEW"
     },
     {
      "name": "employee_id",
      "in": "query",
      "required": false,
      "description": "Only requests for this employee (doctor).",
      "schema": {
       "type": "string",
       "format": "uuid"
      },
      "example": "d290f1ee-6c54-4b01-90e6-d701748f0851"
     },
     {
      "name": "page",
      "in": "query",
      "required": false,
      "description": "Page number, starting at 1; at most 1000000.",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 1000000,
       "default": 1
      }
     },
     {
      "name": "page_size",
      "in": "query",
      "required": false,
      "description": "Items per page.",
      "schema": {
       "type": "integer",
       "minimum": 1,
       "maximum": 300,
       "default": 50
      }
     }
    ],
    "responses": {
     "200": {
      "description": "One page of declaration requests.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DeclarationRequestListResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "list",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17811"
         },
         "data": [
          {
           "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
           "status": "NEW",
           "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
           "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
           "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
           "legal_entity_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
           "declaration_id": "2521ebd1-8aa9-4e0c-b69b-8e9c9d7b6ae3",
           "declaration_number": "0000-12H4-245D",
           "start_date": "2024-05-01",
           "end_date": "2034-05-01",
           "channel": "MIS",
           "inserted_at": "2024-05-01T09:15:42.123456Z",
           "updated_at": "2024-05-01T09:15:42.123456Z"
          }
         ],
         "paging": {
          "page_number": 1,
          "page_size": 50,
          "total_entries": 1,
          "total_pages": 1
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "422": {
      "$ref": "#/components/responses/ListValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/v3/declaration_requests/{id}": {
   "get": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.get_declaration_request",
    "summary": "Get Declaration Request by ID V3",
    "description": "Returns one declaration request with `data_to_be_signed`. Only requests created in the\ncaller's legal entity are visible; any other id answers 404 `not_found`. A malformed id\nanswers 422 `validation_failed` (`entry_type: path_parameter`, `entry: id`).\n",
    "security": [
     {
      "oauth2": [
       "declaration_request:read"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/DeclarationRequestId"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "responses": {
     "200": {
      "description": "The declaration request.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DeclarationRequestResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17812"
         },
         "data": {
          "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "status": "NEW",
          "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
          "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
          "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
          "legal_entity_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
          "declaration_id": "2521ebd1-8aa9-4e0c-b69b-8e9c9d7b6ae3",
          "parent_declaration_id": null,
          "declaration_number": "0000-12H4-245D",
          "start_date": "2024-05-01",
          "end_date": "2034-05-01",
          "channel": "MIS",
          "authorize_with": null,
          "authentication_method_current": {
           "type": "OTP",
           "number": "+38093*****85"
          },
          "data_to_be_signed": {
           "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
           "declaration_number": "0000-12H4-245D",
           "start_date": "2024-05-01",
           "end_date": "2034-05-01",
           "scope": "family_doctor",
           "channel": "MIS",
           "person": {
            "id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
            "first_name": "Петро",
            "last_name": "Іванов",
            "second_name": "Миколайович",
            "birth_date": "1991-08-19",
            "authentication_methods": [
             {
              "type": "OTP",
              "phone_number": "+38093*****85"
             }
            ]
           },
           "employee": {
            "id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
            "position": "P2",
            "employee_type": "DOCTOR",
            "party": {
             "first_name": "Олена",
             "last_name": "Коваленко",
             "second_name": "Петрівна"
            }
           },
           "division": {
            "id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
            "name": "Бориспільське відділення Клініки Ноунейм",
            "type": "CLINIC"
           },
           "legal_entity": {
            "id": "8b797c23-ba47-45f2-bc0f-521013e01074",
            "name": "Клініка Ноунейм",
            "short_name": "Ноунейм",
            "edrpou": "38782323"
           }
          },
          "inserted_at": "2024-05-01T09:15:42.123456Z",
          "updated_at": "2024-05-01T09:15:42.123456Z",
          "inserted_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77",
          "updated_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "422": {
      "$ref": "#/components/responses/MalformedIdValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/v3/declaration_requests/{id}/actions/resend_otp": {
   "post": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.resend_otp",
    "summary": "Resend Authorization OTP on Declaration Request",
    "description": "Method [API-005-004-002-0084]. Sends a new SMS one-time code for a previously created\ndeclaration request V3, e.g. when the first SMS did not arrive or the code expired.\nThere is no request body.\n\nRules, checked in this order (the first failing rule decides the response):\n\n1. **Authentication**: no or invalid bearer token → 401 `access_denied`; token without the\n   `otp:write` scope → 403 `forbidden`.\n2. **Id format**: `id` is not a UUID → 422 `validation_failed`\n   (`entry_type: path_parameter`, `entry: id`).\n3. **Existence and ownership**: no declaration request with this id, or it belongs to another\n   legal entity than the token's → 404 `not_found` (existence is not disclosed).\n4. **Status**: status is not `NEW` → 422 `validation_failed`, `entry: $.status`,\n   rule `invalid`, description `incorrect status`.\n5. **Authentication method**: `authentication_method_current` is not `OTP` with a phone\n   number (`OFFLINE`, `NA`, absent) → 422 `validation_failed`,\n   `entry: $.authentication_method_current`, rule `invalid`,\n   description `Auth method is not OTP`.\n6. **Send limits**: the phone's resend cooldown has not elapsed, or a send limit of the phone\n   is reached → 429 `too_many_requests` with a `Retry-After` header (seconds). Nothing is\n   sent and the active code stays valid.\n7. **Resend**: in one transaction the active verification of the request/phone is cancelled\n   (`CANCELED`, `active: false`), a new verification is created (`NEW`, `active: true`,\n   new code, new `code_expired_at`) and exactly one SMS is queued for delivery. The\n   previously sent code no longer approves the request.\n\nThe declaration request itself is not changed (status, timestamps and `updated_by` stay as\nthey were). The response is the new verification.\n",
    "security": [
     {
      "oauth2": [
       "otp:write"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/DeclarationRequestId"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "responses": {
     "200": {
      "description": "A new code was created and its SMS queued.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VerificationResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17813"
         },
         "data": {
          "id": "7d23bebb-1cf3-4221-bf21-18aada444756",
          "status": "NEW",
          "code_expired_at": "2017-07-10T12:20:16.300597Z",
          "active": true
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "422": {
      "$ref": "#/components/responses/ResendValidationFailed"
     },
     "429": {
      "$ref": "#/components/responses/TooManyRequests"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/v3/declaration_requests/{id}/actions/approve": {
   "patch": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.approve_declaration_request",
    "summary": "Approve Declaration Request V3",
    "description": "Approves a `NEW` declaration request (`NEW` → `APPROVED`).\n\n* Unknown id or another legal entity's request → 404 `not_found`.\n* Status other than `NEW` → 409 `request_conflict`, message `Invalid transition`.\n* When `authentication_method_current.type` is `OTP`, the body must contain\n  `verification_code` (the code from the latest SMS); a missing code → 422\n  `validation_failed` (`entry: $.verification_code`). For `OFFLINE` and `NA` the body may be\n  empty or absent.\n* The code is checked against the active verification of the request:\n  wrong code → 422 `forbidden` \"Invalid verification code\"; expired code → 422 `forbidden`\n  \"Verification code expired\"; no active verification left (attempts used up, already\n  used or cancelled by a resend) → 422 `forbidden` \"Maximum attempts exceed\". A wrong or\n  expired code uses one attempt; after the last allowed attempt the verification becomes\n  `UNVERIFIED`.\n* On success the verification becomes `VERIFIED` and the request `APPROVED`\n  (`updated_by` = the token's user).\n",
    "security": [
     {
      "oauth2": [
       "declaration_request:approve"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/DeclarationRequestId"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": false,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/DeclarationRequestApprove"
       },
       "example": {
        "verification_code": 2836
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The approved declaration request.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DeclarationRequestResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17814"
         },
         "data": {
          "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "status": "APPROVED",
          "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
          "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
          "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
          "legal_entity_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
          "declaration_id": "2521ebd1-8aa9-4e0c-b69b-8e9c9d7b6ae3",
          "parent_declaration_id": null,
          "declaration_number": "0000-12H4-245D",
          "start_date": "2024-05-01",
          "end_date": "2034-05-01",
          "channel": "MIS",
          "authorize_with": null,
          "authentication_method_current": {
           "type": "OTP",
           "number": "+38093*****85"
          },
          "data_to_be_signed": {
           "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
           "declaration_number": "0000-12H4-245D",
           "start_date": "2024-05-01",
           "end_date": "2034-05-01",
           "scope": "family_doctor",
           "channel": "MIS",
           "person": {
            "id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
            "first_name": "Петро",
            "last_name": "Іванов",
            "second_name": "Миколайович",
            "birth_date": "1991-08-19",
            "authentication_methods": [
             {
              "type": "OTP",
              "phone_number": "+38093*****85"
             }
            ]
           },
           "employee": {
            "id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
            "position": "P2",
            "employee_type": "DOCTOR",
            "party": {
             "first_name": "Олена",
             "last_name": "Коваленко",
             "second_name": "Петрівна"
            }
           },
           "division": {
            "id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
            "name": "Бориспільське відділення Клініки Ноунейм",
            "type": "CLINIC"
           },
           "legal_entity": {
            "id": "8b797c23-ba47-45f2-bc0f-521013e01074",
            "name": "Клініка Ноунейм",
            "short_name": "Ноунейм",
            "edrpou": "38782323"
           }
          },
          "inserted_at": "2024-05-01T09:15:42.123456Z",
          "updated_at": "2024-05-01T09:21:07.654321Z",
          "inserted_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77",
          "updated_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77"
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/ApproveValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/v3/declaration_requests/{id}/actions/reject": {
   "patch": {
    "tags": [
     "Declaration Requests"
    ],
    "operationId": "handlers.declaration_requests.reject_declaration_request",
    "summary": "Reject Declaration Request V3",
    "description": "Rejects a declaration request in status `NEW` or `APPROVED` (→ `REJECTED`); any other status\n→ 409 `request_conflict` \"Invalid transition\". Unknown id or another legal entity's request\n→ 404 `not_found`. The active verification of the request, if any, is cancelled.\n`updated_by` is set to the token's user. There is no request body.\n",
    "security": [
     {
      "oauth2": [
       "declaration_request:write"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/DeclarationRequestId"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "responses": {
     "200": {
      "description": "The rejected declaration request.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/DeclarationRequestResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/reject",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17815"
         },
         "data": {
          "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
          "status": "REJECTED",
          "person_id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
          "employee_id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
          "division_id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
          "legal_entity_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
          "declaration_id": "2521ebd1-8aa9-4e0c-b69b-8e9c9d7b6ae3",
          "parent_declaration_id": null,
          "declaration_number": "0000-12H4-245D",
          "start_date": "2024-05-01",
          "end_date": "2034-05-01",
          "channel": "MIS",
          "authorize_with": null,
          "authentication_method_current": {
           "type": "OTP",
           "number": "+38093*****85"
          },
          "data_to_be_signed": {
           "id": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b",
           "declaration_number": "0000-12H4-245D",
           "start_date": "2024-05-01",
           "end_date": "2034-05-01",
           "scope": "family_doctor",
           "channel": "MIS",
           "person": {
            "id": "13001c45-8a5a-4d1c-9d3b-a1e1e7dff2c3",
            "first_name": "Петро",
            "last_name": "Іванов",
            "second_name": "Миколайович",
            "birth_date": "1991-08-19",
            "authentication_methods": [
             {
              "type": "OTP",
              "phone_number": "+38093*****85"
             }
            ]
           },
           "employee": {
            "id": "d290f1ee-6c54-4b01-90e6-d701748f0851",
            "position": "P2",
            "employee_type": "DOCTOR",
            "party": {
             "first_name": "Олена",
             "last_name": "Коваленко",
             "second_name": "Петрівна"
            }
           },
           "division": {
            "id": "31506899-55a5-4011-b88c-10ba90c5e9bd",
            "name": "Бориспільське відділення Клініки Ноунейм",
            "type": "CLINIC"
           },
           "legal_entity": {
            "id": "8b797c23-ba47-45f2-bc0f-521013e01074",
            "name": "Клініка Ноунейм",
            "short_name": "Ноунейм",
            "edrpou": "38782323"
           }
          },
          "inserted_at": "2024-05-01T09:15:42.123456Z",
          "updated_at": "2024-05-01T09:30:11.000042Z",
          "inserted_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77",
          "updated_by": "e1453f28-1e9b-4a6b-8d6b-9b2f0c4e1a77"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/NotFound"
     },
     "409": {
      "$ref": "#/components/responses/Conflict"
     },
     "422": {
      "$ref": "#/components/responses/MalformedIdValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/oauth/token": {
   "post": {
    "tags": [
     "Authentication"
    ],
    "operationId": "handlers.oauth.issue_access_token",
    "summary": "Get an access token (OAuth2 client credentials)",
    "description": "The OAuth2 token endpoint of the `oauth2` security scheme (RFC 6749, section 4.4:\nclient credentials grant), for clients that prefer the standard flow to pasting a token,\nSwagger UI's \"Authorize\" dialog included.\n\n* `client_id` is the caller's legal entity id; `client_secret` is a token issued by\n  `declaration-otp token issue` for that legal entity. They are sent as HTTP Basic\n  credentials (`Authorization: Basic base64(client_id:client_secret)`) or as the form fields\n  `client_id` and `client_secret`.\n* `scope` (space-separated) narrows the new token's scopes; absent or empty, the new token\n  gets every scope of the client secret. A scope the client secret does not carry → 422\n  `validation_failed` (`entry: $.scope`).\n* The answer is a new bearer token of the same legal entity and user, valid for at most one\n  hour and never longer than the client secret itself.\n* Unknown, expired or revoked client credentials, or credentials of another legal entity\n  → 401 `access_denied` \"Invalid client credentials\". Only local tokens (`AUTH_MODE=local`)\n  can be exchanged; in the other authentication modes every request gets this 401.\n\nThis operation needs no bearer token. Its success response is the plain OAuth2 token\nresponse, as OAuth2 clients expect; its errors use the eHealth envelope.\n",
    "security": [],
    "parameters": [
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/x-www-form-urlencoded": {
       "schema": {
        "$ref": "#/components/schemas/AccessTokenRequest"
       },
       "example": {
        "grant_type": "client_credentials",
        "scope": "declaration_request:read otp:write",
        "client_id": "8b797c23-ba47-45f2-bc0f-521013e01074",
        "client_secret": "dotp_J5p2yGf6m0cT1gkq3H7bW9xV4sZ8aN2dR6eU1iO3lKQ"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "A new access token.",
      "x-envelope": false,
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       },
       "Cache-Control": {
        "description": "Always `no-store`, as RFC 6749 requires for token responses.",
        "schema": {
         "type": "string",
         "enum": [
          "no-store"
         ]
        }
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/AccessToken"
        },
        "example": {
         "access_token": "dotp_Wq3mZr8Yx1bN6cV0tH4kJ2sD9fG5aL7pE3uI8oR1yTQ",
         "token_type": "bearer",
         "expires_in": 3600,
         "scope": "declaration_request:read otp:write"
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/InvalidClient"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/TokenValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/verifications": {
   "post": {
    "tags": [
     "OTP Verification"
    ],
    "operationId": "handlers.verifications.initialize_verification",
    "summary": "Initialize OTP Verification",
    "description": "Sends a new code to `phone_number`, as the upstream OTP service's `POST /verifications`.\n\n* `phone_number` must match `^\\+[0-9]{9,16}$` → otherwise 422 `validation_failed`\n  (`entry: $.phone_number`), and start with one of the prefixes allowed for SMS\n  (`SMS_ALLOWED_PREFIXES`, default `+380`) → otherwise 422 `validation_failed`, rule\n  `invalid`, description `phone number prefix is not allowed for SMS`. Nothing is queued\n  then.\n* The phone's resend cooldown and send limits are those of the declaration flow, shared by\n  both: beyond them 429 `too_many_requests` with `Retry-After`; nothing changes.\n* Otherwise, in one transaction, the phone's active code (from this API or a declaration\n  request) is cancelled, a new one is stored as a keyed hash and exactly one SMS is queued.\n\nThe answer is the new verification (201).\n",
    "security": [
     {
      "oauth2": [
       "otp:write"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/VerificationInitialize"
       },
       "example": {
        "phone_number": "+380936235985"
       }
      }
     }
    },
    "responses": {
     "201": {
      "description": "A code was created and its SMS queued.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VerificationResponse"
        },
        "example": {
         "meta": {
          "code": 201,
          "url": "https://declaration-otp.example.com/api/verifications/7d23bebb-1cf3-4221-bf21-18aada444756",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17860"
         },
         "data": {
          "id": "7d23bebb-1cf3-4221-bf21-18aada444756",
          "status": "NEW",
          "code_expired_at": "2017-07-10T12:20:16.300597Z",
          "active": true
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/PhoneValidationFailed"
     },
     "429": {
      "$ref": "#/components/responses/TooManyRequests"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/verifications/{phone_number}": {
   "get": {
    "tags": [
     "OTP Verification"
    ],
    "operationId": "handlers.verifications.get_verified_phone",
    "summary": "Get Verified Phone",
    "description": "Whether `phone_number` ever completed a verification (through this API or by approving a\ndeclaration request with its code): 200 with the phone (masked), or 404 `not_found`.\nAn invalid phone number or a prefix not allowed for SMS → 422 `validation_failed`.\n",
    "security": [
     {
      "oauth2": [
       "otp:read"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/PhoneNumber"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "responses": {
     "200": {
      "description": "The phone was verified.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VerifiedPhoneResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17861"
         },
         "data": {
          "phone_number": "+38093*****85",
          "verified_at": "2024-05-01T09:15:42.123456Z"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/Forbidden"
     },
     "404": {
      "$ref": "#/components/responses/PhoneNotFound"
     },
     "422": {
      "$ref": "#/components/responses/PhoneValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/verifications/{phone_number}/actions/complete": {
   "patch": {
    "tags": [
     "OTP Verification"
    ],
    "operationId": "handlers.verifications.complete_verification",
    "summary": "Complete OTP Verification",
    "description": "Checks `code` against the **latest** verification initialized for `phone_number` through\nthis API (codes of declaration requests are approved only through their request), as the\nupstream OTP service's `complete`:\n\n* no verification for the phone → 404 `not_found` \"Verification not found\";\n* the latest one is no longer active (verified, cancelled by a newer code, attempts used\n  up) → 403 `forbidden` \"Maximum attempts exceed\";\n* the code has expired → 403 `forbidden` \"Verification code expired\" (counts as an attempt);\n* a wrong code → 403 `forbidden` \"Invalid verification code\" (counts as an attempt); after\n  the last allowed attempt the verification becomes `UNVERIFIED`;\n* otherwise 200: the verification becomes `VERIFIED` and the phone is recorded as verified.\n\nAttempts are counted in the database under a row lock, so concurrent tries never exceed\n`OTP_MAX_ATTEMPTS`.\n",
    "security": [
     {
      "oauth2": [
       "otp:write"
      ]
     }
    ],
    "parameters": [
     {
      "$ref": "#/components/parameters/PhoneNumber"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/VerificationComplete"
       },
       "example": {
        "code": 2836
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The code was right; the verification is `VERIFIED`.",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/VerificationResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17862"
         },
         "data": {
          "id": "7d23bebb-1cf3-4221-bf21-18aada444756",
          "status": "VERIFIED",
          "code_expired_at": "2017-07-10T12:20:16.300597Z",
          "active": false
         }
        }
       }
      }
     },
     "400": {
      "$ref": "#/components/responses/BadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "$ref": "#/components/responses/VerificationForbidden"
     },
     "404": {
      "$ref": "#/components/responses/VerificationNotFound"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/PhoneValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  },
  "/api/sms/status/{provider}": {
   "post": {
    "tags": [
     "SMS Delivery"
    ],
    "operationId": "handlers.sms_status.receive_status",
    "summary": "SMS delivery status callback",
    "description": "Where SMS providers report what became of a message (Twilio's `StatusCallback`; the `http`\ngateway's provider posts the same form). The service sets the callback URL itself, with\n`?message_id=<our message id>`, when `SMS_STATUS_CALLBACK_BASE_URL` is configured.\n\n**Authentication** is not a bearer token (providers cannot get one), so `security` is empty\nhere and the handler checks, once the form has its shape (else 422) and before anything\nin it is used: for `twilio`, the\n`X-Twilio-Signature` header (base64 HMAC-SHA1, keyed with `TWILIO_AUTH_TOKEN`, of the\npublic callback URL followed by every form field name and value sorted by name); for both\nproviders, alternatively, the `X-Callback-Secret` header equal to\n`SMS_STATUS_CALLBACK_SECRET`. Anything else → 401 `access_denied`.\n\n**Idempotent**: a status only moves forward (`sent` → `delivered`/`undelivered`/`failed`);\nrepeated, late or out-of-order reports change nothing and still answer 200. Intermediate\nprovider statuses (`queued`, `sending`, `accepted`) are acknowledged and ignored. A report\nfor a message that is not ours → 404 `not_found`.\n",
    "security": [],
    "parameters": [
     {
      "name": "provider",
      "in": "path",
      "required": true,
      "description": "The gateway that sent the message.",
      "schema": {
       "type": "string",
       "enum": [
        "twilio",
        "http"
       ]
      }
     },
     {
      "name": "message_id",
      "in": "query",
      "required": false,
      "description": "Our message id, as put into the callback URL by the service.",
      "schema": {
       "type": "string",
       "format": "uuid"
      },
      "example": "2a3c5e1b-4c7d-4b8e-9f01-23456789abcd"
     },
     {
      "name": "X-Twilio-Signature",
      "in": "header",
      "required": false,
      "description": "Twilio's request signature.",
      "schema": {
       "type": "string"
      },
      "example": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
     },
     {
      "name": "X-Callback-Secret",
      "in": "header",
      "required": false,
      "description": "The shared secret `SMS_STATUS_CALLBACK_SECRET`.",
      "schema": {
       "type": "string"
      },
      "example": "a-long-random-shared-secret"
     },
     {
      "$ref": "#/components/parameters/RequestId"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/x-www-form-urlencoded": {
       "schema": {
        "$ref": "#/components/schemas/SmsStatusCallback"
       },
       "example": {
        "MessageSid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
        "MessageStatus": "delivered",
        "AccountSid": "AC1f0e8ae6ade43cb3c0ce4525424e404f"
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "The report was recorded (or changed nothing, being old news).",
      "headers": {
       "X-Request-ID": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/SmsStatusResponse"
        },
        "example": {
         "meta": {
          "code": 200,
          "url": "https://declaration-otp.example.com/api/sms/status/twilio",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17863"
         },
         "data": {
          "id": "2a3c5e1b-4c7d-4b8e-9f01-23456789abcd",
          "status": "delivered",
          "changed": true
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/CallbackUnauthorized"
     },
     "404": {
      "$ref": "#/components/responses/SmsMessageNotFound"
     },
     "415": {
      "$ref": "#/components/responses/UnsupportedMediaType"
     },
     "422": {
      "$ref": "#/components/responses/ValidationFailed"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     }
    }
   }
  }
 },
 "components": {
  "securitySchemes": {
   "oauth2": {
    "type": "oauth2",
    "description": "Bearer tokens, sent as `Authorization: Bearer <token>`. Tokens are issued by the operator\nwith `declaration-otp token issue`, and can be exchanged at `POST /oauth/token` (client\ncredentials: `client_id` = the legal entity id, `client_secret` = an issued token) for a new\ntoken of at most one hour with fewer scopes. A token belongs to one legal entity and one\nuser and carries scopes; each operation lists the scope it requires. No or an\nunknown/expired/revoked token → 401 `access_denied`; a missing scope → 403 `forbidden`.\n\nThat is the default (`AUTH_MODE=local`). A deployment may instead accept access tokens of\nthe national auth service, checked by OAuth 2.0 Token Introspection (RFC 7662;\n`AUTH_MODE=introspection`: an introspection server that does not answer → 503), or sit\nbehind an API gateway that has authenticated the caller (`AUTH_MODE=gateway`): then no\nbearer token is read and the identity comes from the gateway's headers `x-consumer-id`\n(user), `x-consumer-metadata` (JSON whose `client_id` is the legal entity id; missing →\n401 \"Missing header x-consumer-metadata\", no `client_id` → 401 \"Misssing Client ID\") and\n`x-consumer-scope` (space-separated scopes). Scopes are enforced the same way in every\nmode.\n",
    "flows": {
     "clientCredentials": {
      "tokenUrl": "/oauth/token",
      "scopes": {
       "declaration_request:write": "Створення та відхилення запитів на декларацію / Create and reject declaration requests",
       "declaration_request:read": "Перегляд запитів на декларацію / Read declaration requests",
       "declaration_request:approve": "Підтвердження запитів на декларацію / Approve declaration requests",
       "otp:write": "Підтвердження дійсності телефону / Resend the SMS confirmation code",
       "otp:read": "Перевірка дійсності телефону / Check whether a phone was verified"
      }
     }
    },
    "x-tokenInfoFunc": "declaration_otp.auth.token_info"
   }
  },
  "parameters": {
   "DeclarationRequestId": {
    "name": "id",
    "in": "path",
    "required": true,
    "description": "Declaration request identifier.",
    "schema": {
     "type": "string",
     "format": "uuid"
    },
    "example": "b075f148-7f93-4fc2-b2ec-2d81b19a9b7b"
   },
   "PhoneNumber": {
    "name": "phone_number",
    "in": "path",
    "required": true,
    "description": "Phone number in international format (`+` may be sent as `%2B`).",
    "schema": {
     "type": "string",
     "pattern": "^\\+[0-9]{9,16}$"
    },
    "example": "+380936235985"
   },
   "RequestId": {
    "name": "X-Request-ID",
    "in": "header",
    "required": false,
    "description": "Client-supplied request id (the eHealth gateway's `<uuid>#<n>` form included), echoed in\n`meta.request_id` and in the `X-Request-ID` response header. When it is absent, longer than\n200 characters or not printable ASCII, the service uses a fresh id instead.\n",
    "schema": {
     "type": "string"
    },
    "example": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"
   }
  },
  "headers": {
   "RequestId": {
    "description": "The request id (the client's `X-Request-ID` or a generated one); equals `meta.request_id`.",
    "schema": {
     "type": "string"
    },
    "example": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"
   },
   "RetryAfter": {
    "description": "Seconds to wait before the next attempt can succeed.",
    "schema": {
     "type": "integer",
     "minimum": 1
    },
    "example": 60
   }
  },
  "responses": {
   "BadRequest": {
    "description": "The request body is not valid JSON.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 400,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17820"
       },
       "error": {
        "type": "request_malformed",
        "message": "Malformed request. Probably, you have sent corrupted JSON."
       }
      }
     }
    }
   },
   "Unauthorized": {
    "description": "No bearer token, or the token is unknown, expired or revoked (behind a gateway, `AUTH_MODE=gateway`: the gateway's identity headers are missing or unusable).",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "missing_token": {
        "summary": "No bearer token",
        "value": {
         "meta": {
          "code": 401,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17821"
         },
         "error": {
          "type": "access_denied",
          "message": "Authorization header is not set or doesn't contain Bearer token"
         }
        }
       },
       "invalid_token": {
        "summary": "Unknown, expired or revoked token",
        "value": {
         "meta": {
          "code": 401,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17822"
         },
         "error": {
          "type": "access_denied",
          "message": "Invalid access token"
         }
        }
       },
       "missing_gateway_metadata": {
        "summary": "Behind a gateway, without its x-consumer-metadata header",
        "value": {
         "meta": {
          "code": 401,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17823"
         },
         "error": {
          "type": "access_denied",
          "message": "Missing header x-consumer-metadata"
         }
        }
       }
      }
     }
    }
   },
   "Forbidden": {
    "description": "The token does not carry the scope the operation requires.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 403,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17823"
       },
       "error": {
        "type": "forbidden",
        "message": "Your scope does not allow to access this resource. Missing allowances: otp:write"
       }
      }
     }
    }
   },
   "NotFound": {
    "description": "No declaration request with this id in the caller's legal entity.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 404,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17824"
       },
       "error": {
        "type": "not_found",
        "message": "Declaration request not found"
       }
      }
     }
    }
   },
   "CreateNotFound": {
    "description": "The person does not exist. (An unknown employee or division, or one of another legal entity, is a 422 naming the property.)",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "person": {
        "summary": "Unknown person",
        "value": {
         "meta": {
          "code": 404,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17825"
         },
         "error": {
          "type": "not_found",
          "message": "Such person doesn't exist"
         }
        }
       }
      }
     }
    }
   },
   "Conflict": {
    "description": "The declaration request's status does not allow this action.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 409,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17828"
       },
       "error": {
        "type": "request_conflict",
        "message": "Invalid transition"
       }
      }
     }
    }
   },
   "CreateConflict": {
    "description": "The person cannot get a declaration request in its current state.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 409,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17829"
       },
       "error": {
        "type": "request_conflict",
        "message": "Patient is not verified"
       }
      }
     }
    }
   },
   "UnsupportedMediaType": {
    "description": "The request body is not `application/json`.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 415,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17830"
       },
       "error": {
        "type": "content_type_invalid",
        "message": "Invalid Content-Type header. Expected application/json."
       }
      }
     }
    }
   },
   "ValidationFailed": {
    "description": "The request does not match the specification; every violation is listed in `error.invalid`.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 422,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17831"
       },
       "error": {
        "type": "validation_failed",
        "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
        "invalid": [
         {
          "entry_type": "json_data_property",
          "entry": "$.person_id",
          "rules": [
           {
            "rule": "required",
            "description": "required property",
            "params": []
           }
          ]
         }
        ]
       }
      }
     }
    }
   },
   "CreateValidationFailed": {
    "description": "The body does not match `DeclarationRequestCreate`, or the person cannot be authenticated.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "missing_property": {
        "summary": "A required property is missing",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17832"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.person_id",
            "rules": [
             {
              "rule": "required",
              "description": "required property",
              "params": []
             }
            ]
           }
          ]
         }
        }
       },
       "invalid_uuid": {
        "summary": "A property is not a UUID",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17833"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.employee_id",
            "rules": [
             {
              "rule": "format",
              "description": "expected a valid uuid",
              "params": [
               "uuid"
              ]
             }
            ]
           }
          ]
         }
        }
       },
       "no_auth_method": {
        "summary": "The person has no usable authentication method",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17834"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.authorize_with",
            "rules": [
             {
              "rule": "invalid",
              "description": "Person must have authentication method",
              "params": []
             }
            ]
           }
          ]
         }
        }
       },
       "registry_mismatch": {
        "summary": "The employee or division cannot be used by the caller's legal entity",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17835"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.employee_id",
            "rules": [
             {
              "rule": "invalid",
              "description": "Employee does not belong to your legal entity",
              "params": []
             }
            ]
           },
           {
            "entry_type": "json_data_property",
            "entry": "$.division_id",
            "rules": [
             {
              "rule": "invalid",
              "description": "Division not found",
              "params": []
             }
            ]
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "ListValidationFailed": {
    "description": "A query parameter is invalid.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 422,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17835"
       },
       "error": {
        "type": "validation_failed",
        "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
        "invalid": [
         {
          "entry_type": "query_parameter",
          "entry": "page_size",
          "rules": [
           {
            "rule": "maximum",
            "description": "500 is greater than the maximum of 300",
            "params": [
             300
            ]
           }
          ]
         }
        ]
       }
      }
     }
    }
   },
   "MalformedIdValidationFailed": {
    "description": "The `id` path parameter is not a UUID.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 422,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/not-a-uuid",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17836"
       },
       "error": {
        "type": "validation_failed",
        "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
        "invalid": [
         {
          "entry_type": "path_parameter",
          "entry": "id",
          "rules": [
           {
            "rule": "format",
            "description": "expected a valid uuid",
            "params": [
             "uuid"
            ]
           }
          ]
         }
        ]
       }
      }
     }
    }
   },
   "ResendValidationFailed": {
    "description": "Malformed id, the request is not in status `NEW`, or its authentication method is not `OTP`.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "incorrect_status": {
        "summary": "Status is not NEW",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17837"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.status",
            "rules": [
             {
              "rule": "invalid",
              "description": "incorrect status",
              "params": []
             }
            ]
           }
          ]
         }
        }
       },
       "auth_method_not_otp": {
        "summary": "Authentication method is not OTP",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17838"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.authentication_method_current",
            "rules": [
             {
              "rule": "invalid",
              "description": "Auth method is not OTP",
              "params": []
             }
            ]
           }
          ]
         }
        }
       },
       "malformed_id": {
        "summary": "The id is not a UUID",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/not-a-uuid/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17839"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "path_parameter",
            "entry": "id",
            "rules": [
             {
              "rule": "format",
              "description": "expected a valid uuid",
              "params": [
               "uuid"
              ]
             }
            ]
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "ApproveValidationFailed": {
    "description": "The verification code is wrong, expired or exhausted (`type: forbidden`), or the request is\ninvalid (`type: validation_failed`: malformed id, malformed body, missing code for `OTP`).\n",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "invalid_code": {
        "summary": "Wrong code",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17840"
         },
         "error": {
          "type": "forbidden",
          "message": "Invalid verification code"
         }
        }
       },
       "code_expired": {
        "summary": "Code expired",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17841"
         },
         "error": {
          "type": "forbidden",
          "message": "Verification code expired"
         }
        }
       },
       "attempts_exceeded": {
        "summary": "No attempts left (or no active code)",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17842"
         },
         "error": {
          "type": "forbidden",
          "message": "Maximum attempts exceed"
         }
        }
       },
       "missing_code": {
        "summary": "OTP request approved without a code",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17843"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.verification_code",
            "rules": [
             {
              "rule": "required",
              "description": "required property",
              "params": []
             }
            ]
           }
          ]
         }
        }
       },
       "malformed_id": {
        "summary": "The id is not a UUID",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/not-a-uuid/actions/approve",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17848"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "path_parameter",
            "entry": "id",
            "rules": [
             {
              "rule": "format",
              "description": "expected a valid uuid",
              "params": [
               "uuid"
              ]
             }
            ]
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "TooManyRequests": {
    "description": "The phone's resend cooldown has not elapsed or one of its send limits is reached. Nothing was\nsent; retry after `Retry-After` seconds.\n",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     },
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfter"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "cooldown": {
        "summary": "Resend cooldown of the phone",
        "value": {
         "meta": {
          "code": 429,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17844"
         },
         "error": {
          "type": "too_many_requests",
          "message": "too many requests"
         }
        }
       },
       "send_limit": {
        "summary": "Send limit of the phone reached",
        "value": {
         "meta": {
          "code": 429,
          "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17845"
         },
         "error": {
          "type": "too_many_requests",
          "message": "too many requests"
         }
        }
       }
      }
     }
    }
   },
   "InternalError": {
    "description": "Unexpected server error.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 500,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17846"
       },
       "error": {
        "type": "internal_error",
        "message": "Internal server error"
       }
      }
     }
    }
   },
   "InvalidClient": {
    "description": "The client credentials are missing, unknown, expired, revoked or of another legal entity.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 401,
        "url": "https://declaration-otp.example.com/oauth/token",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17850"
       },
       "error": {
        "type": "access_denied",
        "message": "Invalid client credentials"
       }
      }
     }
    }
   },
   "TokenValidationFailed": {
    "description": "The form does not match `AccessTokenRequest`, or a requested scope is not granted to the client.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "grant_type": {
        "summary": "Unsupported grant type",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/oauth/token",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17851"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.grant_type",
            "rules": [
             {
              "rule": "inclusion",
              "description": "value is not allowed in enum",
              "params": [
               "client_credentials"
              ]
             }
            ]
           }
          ]
         }
        }
       },
       "scope": {
        "summary": "A scope the client secret does not carry",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/oauth/token",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17852"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.scope",
            "rules": [
             {
              "rule": "invalid",
              "description": "scope not granted to this client: declaration_request:approve",
              "params": []
             }
            ]
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "PhoneValidationFailed": {
    "description": "The phone number or the body is invalid, or the phone's prefix is not allowed for SMS.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "invalid_phone": {
        "summary": "Not a phone number",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/verifications",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17864"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.phone_number",
            "rules": [
             {
              "rule": "format",
              "description": "string does not match pattern '^\\+[0-9]{9,16}$'",
              "params": [
               "^\\+[0-9]{9,16}$"
              ]
             }
            ]
           }
          ]
         }
        }
       },
       "prefix_not_allowed": {
        "summary": "A country the service does not send SMS to",
        "value": {
         "meta": {
          "code": 422,
          "url": "https://declaration-otp.example.com/api/verifications",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17865"
         },
         "error": {
          "type": "validation_failed",
          "message": "Validation failed. You can find validators description at our API Manifest: http://docs.apimanifest.apiary.io/#introduction/interacting-with-api/errors.",
          "invalid": [
           {
            "entry_type": "json_data_property",
            "entry": "$.phone_number",
            "rules": [
             {
              "rule": "invalid",
              "description": "phone number prefix is not allowed for SMS",
              "params": [
               "+380"
              ]
             }
            ]
           }
          ]
         }
        }
       }
      }
     }
    }
   },
   "VerificationForbidden": {
    "description": "The token lacks `otp:write`, or the code is wrong, expired or has no attempts left.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "examples": {
       "invalid_code": {
        "summary": "Wrong code",
        "value": {
         "meta": {
          "code": 403,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17866"
         },
         "error": {
          "type": "forbidden",
          "message": "Invalid verification code"
         }
        }
       },
       "code_expired": {
        "summary": "Code expired",
        "value": {
         "meta": {
          "code": 403,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17867"
         },
         "error": {
          "type": "forbidden",
          "message": "Verification code expired"
         }
        }
       },
       "attempts_exceeded": {
        "summary": "No attempts left, or the latest code is no longer active",
        "value": {
         "meta": {
          "code": 403,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17868"
         },
         "error": {
          "type": "forbidden",
          "message": "Maximum attempts exceed"
         }
        }
       },
       "missing_scope": {
        "summary": "The token lacks otp:write",
        "value": {
         "meta": {
          "code": 403,
          "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
          "type": "object",
          "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17869"
         },
         "error": {
          "type": "forbidden",
          "message": "Your scope does not allow to access this resource. Missing allowances: otp:write"
         }
        }
       }
      }
     }
    }
   },
   "VerificationNotFound": {
    "description": "No verification was ever initialized for this phone through this API.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 404,
        "url": "https://declaration-otp.example.com/api/verifications/+380936235985/actions/complete",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17870"
       },
       "error": {
        "type": "not_found",
        "message": "Verification not found"
       }
      }
     }
    }
   },
   "PhoneNotFound": {
    "description": "The phone never completed a verification.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 404,
        "url": "https://declaration-otp.example.com/api/verifications/+380936235985",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17871"
       },
       "error": {
        "type": "not_found",
        "message": "Phone not found"
       }
      }
     }
    }
   },
   "CallbackUnauthorized": {
    "description": "The status report carries no valid Twilio signature and no valid shared secret.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 401,
        "url": "https://declaration-otp.example.com/api/sms/status/twilio",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17872"
       },
       "error": {
        "type": "access_denied",
        "message": "Invalid callback signature"
       }
      }
     }
    }
   },
   "SmsMessageNotFound": {
    "description": "The report is about a message this service did not send.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 404,
        "url": "https://declaration-otp.example.com/api/sms/status/twilio",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17873"
       },
       "error": {
        "type": "not_found",
        "message": "SMS message not found"
       }
      }
     }
    }
   },
   "ServiceUnavailable": {
    "description": "A dependency (the database, or the token introspection server) is unavailable, or the server is handling as many requests as it accepts at once (`MAX_REQUESTS_IN_FLIGHT`): nothing was done; retry after `Retry-After` seconds.",
    "headers": {
     "X-Request-ID": {
      "$ref": "#/components/headers/RequestId"
     },
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfter"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/ErrorResponse"
      },
      "example": {
       "meta": {
        "code": 503,
        "url": "https://declaration-otp.example.com/api/v3/declaration_requests/b075f148-7f93-4fc2-b2ec-2d81b19a9b7b/actions/resend_otp",
        "type": "object",
        "request_id": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17847"
       },
       "error": {
        "type": "internal_error",
        "message": "Service unavailable"
       }
      }
     }
    }
   }
  },
  "schemas": {
   "AccessTokenRequest": {
    "type": "object",
    "description": "Form of the OAuth2 client credentials grant (RFC 6749, section 4.4.2).",
    "additionalProperties": false,
    "required": [
     "grant_type"
    ],
    "properties": {
     "grant_type": {
      "type": "string",
      "enum": [
       "client_credentials"
      ]
     },
     "scope": {
      "type": "string",
      "maxLength": 1000,
      "description": "Space-separated scopes the new token should carry; every scope of the client secret when absent."
     },
     "client_id": {
      "type": "string",
      "maxLength": 100,
      "description": "The legal entity id (when not sent as HTTP Basic credentials)."
     },
     "client_secret": {
      "type": "string",
      "maxLength": 200,
      "description": "A token issued for that legal entity (when not sent as HTTP Basic credentials)."
     }
    }
   },
   "AccessToken": {
    "type": "object",
    "description": "OAuth2 access token response (RFC 6749, section 5.1).",
    "additionalProperties": false,
    "required": [
     "access_token",
     "token_type",
     "expires_in",
     "scope"
    ],
    "properties": {
     "access_token": {
      "type": "string",
      "description": "The bearer token to send as `Authorization: Bearer <access_token>`."
     },
     "token_type": {
      "type": "string",
      "enum": [
       "bearer"
      ]
     },
     "expires_in": {
      "type": "integer",
      "minimum": 1,
      "description": "Seconds until the token expires.",
      "example": 3600
     },
     "scope": {
      "type": "string",
      "description": "Space-separated scopes of the token.",
      "example": "declaration_request:read otp:write"
     }
    }
   },
   "Meta": {
    "type": "object",
    "description": "Response metadata.",
    "required": [
     "code",
     "url",
     "type",
     "request_id"
    ],
    "properties": {
     "code": {
      "type": "integer",
      "description": "HTTP status code of the response.",
      "example": 200
     },
     "url": {
      "type": "string",
      "description": "URL of the request (for 201, with the created id appended).",
      "example": "https://declaration-otp.example.com/api/v3/declaration_requests"
     },
     "type": {
      "type": "string",
      "description": "`object` for a single item or an error, `list` for a list.",
      "enum": [
       "object",
       "list"
      ]
     },
     "request_id": {
      "type": "string",
      "description": "Request id; equals the `X-Request-ID` response header.",
      "example": "6617aeec-15e2-4d6f-b9bd-53559c358f97#17810"
     }
    }
   },
   "Paging": {
    "type": "object",
    "description": "Page-based pagination.",
    "required": [
     "page_number",
     "page_size",
     "total_entries",
     "total_pages"
    ],
    "properties": {
     "page_number": {
      "type": "integer",
      "example": 1
     },
     "page_size": {
      "type": "integer",
      "example": 50
     },
     "total_entries": {
      "type": "integer",
      "example": 1
     },
     "total_pages": {
      "type": "integer",
      "example": 1
     }
    }
   },
   "ValidationRule": {
    "type": "object",
    "description": "One violated rule.",
    "required": [
     "rule",
     "description",
     "params"
    ],
    "properties": {
     "rule": {
      "type": "string",
      "description": "Rule name (`required`, `format`, `maximum`, `invalid`, ...).",
      "example": "invalid"
     },
     "description": {
      "type": "string",
      "example": "incorrect status"
     },
     "params": {
      "type": "array",
      "description": "Rule parameters (e.g. the maximum); often empty.",
      "items": {}
     }
    }
   },
   "InvalidEntry": {
    "type": "object",
    "description": "One invalid part of the request.",
    "required": [
     "entry_type",
     "entry",
     "rules"
    ],
    "properties": {
     "entry_type": {
      "type": "string",
      "enum": [
       "json_data_property",
       "query_parameter",
       "path_parameter",
       "header"
      ]
     },
     "entry": {
      "type": "string",
      "description": "JSONPath of a body property (`$.person_id`) or the parameter name.",
      "example": "$.status"
     },
     "rules": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/ValidationRule"
      }
     }
    }
   },
   "Error": {
    "type": "object",
    "description": "Error details.",
    "required": [
     "type",
     "message"
    ],
    "properties": {
     "type": {
      "type": "string",
      "description": "Error type, e.g. `validation_failed`, `not_found`, `too_many_requests`.",
      "example": "validation_failed"
     },
     "message": {
      "type": "string",
      "description": "Human-readable message."
     },
     "invalid": {
      "type": "array",
      "description": "Every violation, for `validation_failed` errors.",
      "items": {
       "$ref": "#/components/schemas/InvalidEntry"
      }
     }
    }
   },
   "ErrorResponse": {
    "type": "object",
    "description": "Error envelope.",
    "additionalProperties": false,
    "required": [
     "meta",
     "error"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "error": {
      "$ref": "#/components/schemas/Error"
     }
    }
   },
   "Verification": {
    "type": "object",
    "description": "An OTP verification (one SMS code).",
    "additionalProperties": false,
    "required": [
     "id",
     "status",
     "code_expired_at",
     "active"
    ],
    "properties": {
     "id": {
      "type": "string",
      "format": "uuid",
      "description": "Verification id.",
      "example": "7d23bebb-1cf3-4221-bf21-18aada444756"
     },
     "status": {
      "type": "string",
      "enum": [
       "NEW",
       "CANCELED",
       "VERIFIED",
       "UNVERIFIED",
       "EXPIRED"
      ],
      "example": "NEW"
     },
     "code_expired_at": {
      "type": "string",
      "format": "date-time",
      "description": "When the code expires; ISO-8601 UTC with microseconds and `Z`.",
      "example": "2017-07-10T12:20:16.300597Z"
     },
     "active": {
      "type": "boolean",
      "description": "Whether this is the code that can still approve the request.",
      "example": true
     }
    }
   },
   "VerificationResponse": {
    "type": "object",
    "required": [
     "meta",
     "data"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "$ref": "#/components/schemas/Verification"
     }
    }
   },
   "AuthenticationMethodCurrent": {
    "type": "object",
    "description": "How the patient confirms the request. `number` is masked in every response.",
    "required": [
     "type"
    ],
    "properties": {
     "type": {
      "type": "string",
      "enum": [
       "OTP",
       "OFFLINE",
       "NA"
      ],
      "example": "OTP"
     },
     "number": {
      "type": "string",
      "nullable": true,
      "description": "Masked phone number (first 6 characters, `*****`, last 2); null unless `OTP`.",
      "example": "+38093*****85"
     }
    }
   },
   "DataToBeSigned": {
    "type": "object",
    "description": "The declaration content the patient and the doctor sign.",
    "additionalProperties": true,
    "properties": {
     "id": {
      "type": "string",
      "format": "uuid"
     },
     "declaration_number": {
      "type": "string",
      "example": "0000-12H4-245D"
     },
     "start_date": {
      "type": "string",
      "format": "date"
     },
     "end_date": {
      "type": "string",
      "format": "date"
     },
     "scope": {
      "type": "string",
      "example": "family_doctor"
     },
     "channel": {
      "type": "string",
      "example": "MIS"
     },
     "person": {
      "type": "object",
      "properties": {
       "id": {
        "type": "string",
        "format": "uuid"
       },
       "first_name": {
        "type": "string"
       },
       "last_name": {
        "type": "string"
       },
       "second_name": {
        "type": "string",
        "nullable": true
       },
       "birth_date": {
        "type": "string",
        "format": "date"
       },
       "authentication_methods": {
        "type": "array",
        "items": {
         "type": "object",
         "properties": {
          "type": {
           "type": "string",
           "example": "OTP"
          },
          "phone_number": {
           "type": "string",
           "nullable": true,
           "description": "Masked phone number.",
           "example": "+38093*****85"
          }
         }
        }
       }
      }
     },
     "employee": {
      "type": "object",
      "properties": {
       "id": {
        "type": "string",
        "format": "uuid"
       },
       "position": {
        "type": "string",
        "example": "P2"
       },
       "employee_type": {
        "type": "string",
        "example": "DOCTOR"
       },
       "party": {
        "type": "object",
        "properties": {
         "first_name": {
          "type": "string"
         },
         "last_name": {
          "type": "string"
         },
         "second_name": {
          "type": "string",
          "nullable": true
         }
        }
       }
      }
     },
     "division": {
      "type": "object",
      "properties": {
       "id": {
        "type": "string",
        "format": "uuid"
       },
       "name": {
        "type": "string"
       },
       "type": {
        "type": "string",
        "example": "CLINIC"
       }
      }
     },
     "legal_entity": {
      "type": "object",
      "properties": {
       "id": {
        "type": "string",
        "format": "uuid"
       },
       "name": {
        "type": "string"
       },
       "short_name": {
        "type": "string"
       },
       "edrpou": {
        "type": "string",
        "example": "38782323"
       }
      }
     }
    }
   },
   "DeclarationRequest": {
    "type": "object",
    "description": "A declaration request V3 (full form).",
    "required": [
     "id",
     "status",
     "person_id",
     "employee_id",
     "division_id",
     "legal_entity_id",
     "declaration_id",
     "parent_declaration_id",
     "declaration_number",
     "start_date",
     "end_date",
     "channel",
     "authorize_with",
     "authentication_method_current",
     "data_to_be_signed",
     "inserted_at",
     "updated_at",
     "inserted_by",
     "updated_by"
    ],
    "properties": {
     "id": {
      "type": "string",
      "format": "uuid"
     },
     "status": {
      "type": "string",
      "enum": [
       "NEW",
       "APPROVED",
       "SIGNED",
       "REJECTED",
       "CANCELLED",
       "EXPIRED"
      ]
     },
     "person_id": {
      "type": "string",
      "format": "uuid"
     },
     "employee_id": {
      "type": "string",
      "format": "uuid"
     },
     "division_id": {
      "type": "string",
      "format": "uuid"
     },
     "legal_entity_id": {
      "type": "string",
      "format": "uuid"
     },
     "declaration_id": {
      "type": "string",
      "format": "uuid",
      "description": "Id the declaration will get once signed."
     },
     "parent_declaration_id": {
      "type": "string",
      "format": "uuid",
      "nullable": true,
      "description": "Declaration of a reorganized legal entity this request continues."
     },
     "declaration_number": {
      "type": "string",
      "example": "0000-12H4-245D"
     },
     "start_date": {
      "type": "string",
      "format": "date"
     },
     "end_date": {
      "type": "string",
      "format": "date"
     },
     "channel": {
      "type": "string",
      "enum": [
       "MIS"
      ]
     },
     "authorize_with": {
      "type": "string",
      "format": "uuid",
      "nullable": true,
      "description": "The person's authentication method chosen at creation."
     },
     "authentication_method_current": {
      "$ref": "#/components/schemas/AuthenticationMethodCurrent"
     },
     "data_to_be_signed": {
      "$ref": "#/components/schemas/DataToBeSigned"
     },
     "inserted_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     },
     "inserted_by": {
      "type": "string",
      "description": "User who created the request."
     },
     "updated_by": {
      "type": "string",
      "description": "User who last changed the request."
     }
    }
   },
   "DeclarationRequestShort": {
    "type": "object",
    "description": "A declaration request as listed.",
    "required": [
     "id",
     "status",
     "person_id",
     "employee_id",
     "division_id",
     "legal_entity_id",
     "declaration_id",
     "declaration_number",
     "start_date",
     "end_date",
     "channel",
     "inserted_at",
     "updated_at"
    ],
    "properties": {
     "id": {
      "type": "string",
      "format": "uuid"
     },
     "status": {
      "type": "string",
      "enum": [
       "NEW",
       "APPROVED",
       "SIGNED",
       "REJECTED",
       "CANCELLED",
       "EXPIRED"
      ]
     },
     "person_id": {
      "type": "string",
      "format": "uuid"
     },
     "employee_id": {
      "type": "string",
      "format": "uuid"
     },
     "division_id": {
      "type": "string",
      "format": "uuid"
     },
     "legal_entity_id": {
      "type": "string",
      "format": "uuid"
     },
     "declaration_id": {
      "type": "string",
      "format": "uuid"
     },
     "declaration_number": {
      "type": "string",
      "example": "0000-12H4-245D"
     },
     "start_date": {
      "type": "string",
      "format": "date"
     },
     "end_date": {
      "type": "string",
      "format": "date"
     },
     "channel": {
      "type": "string",
      "enum": [
       "MIS"
      ]
     },
     "inserted_at": {
      "type": "string",
      "format": "date-time"
     },
     "updated_at": {
      "type": "string",
      "format": "date-time"
     }
    }
   },
   "DeclarationRequestCreate": {
    "type": "object",
    "description": "Body of Create Declaration Request V3.",
    "additionalProperties": false,
    "required": [
     "person_id",
     "employee_id",
     "division_id"
    ],
    "properties": {
     "person_id": {
      "type": "string",
      "format": "uuid",
      "description": "An existing active person."
     },
     "employee_id": {
      "type": "string",
      "format": "uuid",
      "description": "An approved employee (doctor) of the caller's legal entity."
     },
     "division_id": {
      "type": "string",
      "format": "uuid",
      "description": "An active division of the caller's legal entity."
     },
     "authorize_with": {
      "type": "string",
      "format": "uuid",
      "description": "Id of one of the person's authentication methods; the first one when absent."
     },
     "parent_declaration_id": {
      "type": "string",
      "format": "uuid",
      "description": "Declaration of a reorganized legal entity this request continues."
     }
    }
   },
   "DeclarationRequestApprove": {
    "type": "object",
    "description": "Body of Approve Declaration Request V3. `verification_code` is required when the request's\nauthentication method is `OTP` (a business rule checked by the handler); for `OFFLINE`/`NA`\nthe body may be empty or absent; an absent body is the same as `{}`.\n",
    "additionalProperties": false,
    "properties": {
     "verification_code": {
      "type": "integer",
      "minimum": 0,
      "maximum": 99999999,
      "description": "The code from the latest SMS.",
      "example": 2836
     }
    }
   },
   "DeclarationRequestResponse": {
    "type": "object",
    "required": [
     "meta",
     "data"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "$ref": "#/components/schemas/DeclarationRequest"
     }
    }
   },
   "DeclarationRequestListResponse": {
    "type": "object",
    "required": [
     "meta",
     "data",
     "paging"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/DeclarationRequestShort"
      }
     },
     "paging": {
      "$ref": "#/components/schemas/Paging"
     }
    }
   },
   "DeclarationRequestCreatedResponse": {
    "type": "object",
    "required": [
     "meta",
     "data",
     "urgent"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "$ref": "#/components/schemas/DeclarationRequest"
     },
     "urgent": {
      "type": "object",
      "required": [
       "authentication_method_current"
      ],
      "properties": {
       "authentication_method_current": {
        "$ref": "#/components/schemas/AuthenticationMethodCurrent"
       }
      }
     }
    }
   },
   "VerificationInitialize": {
    "type": "object",
    "description": "Body of Initialize OTP Verification.",
    "additionalProperties": false,
    "required": [
     "phone_number"
    ],
    "properties": {
     "phone_number": {
      "type": "string",
      "pattern": "^\\+[0-9]{9,16}$",
      "description": "The phone to send the code to; its prefix must be allowed for SMS.",
      "example": "+380936235985"
     }
    }
   },
   "VerificationComplete": {
    "type": "object",
    "description": "Body of Complete OTP Verification.",
    "additionalProperties": false,
    "required": [
     "code"
    ],
    "properties": {
     "code": {
      "type": "integer",
      "minimum": 0,
      "maximum": 99999999,
      "description": "The code from the SMS.",
      "example": 2836
     }
    }
   },
   "VerifiedPhone": {
    "type": "object",
    "description": "A phone that completed a verification.",
    "additionalProperties": false,
    "required": [
     "phone_number",
     "verified_at"
    ],
    "properties": {
     "phone_number": {
      "type": "string",
      "description": "The phone, masked (first 6 characters, `*****`, last 2).",
      "example": "+38093*****85"
     },
     "verified_at": {
      "type": "string",
      "format": "date-time",
      "description": "When it was first verified."
     }
    }
   },
   "VerifiedPhoneResponse": {
    "type": "object",
    "required": [
     "meta",
     "data"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "$ref": "#/components/schemas/VerifiedPhone"
     }
    }
   },
   "SmsStatusCallback": {
    "type": "object",
    "description": "A Twilio-style status report (form fields). Providers add fields of their own; they are\naccepted, covered by the signature and otherwise ignored.\n",
    "required": [
     "MessageSid",
     "MessageStatus"
    ],
    "additionalProperties": {
     "type": "string"
    },
    "properties": {
     "MessageSid": {
      "type": "string",
      "maxLength": 100,
      "description": "The provider's message id."
     },
     "MessageStatus": {
      "type": "string",
      "maxLength": 40,
      "description": "queued, sending, sent, delivered, undelivered, failed, ..."
     },
     "ErrorCode": {
      "type": "string",
      "maxLength": 20,
      "description": "The provider's error code, for undelivered and failed messages."
     },
     "ErrorMessage": {
      "type": "string",
      "maxLength": 300
     },
     "AccountSid": {
      "type": "string",
      "maxLength": 100
     }
    }
   },
   "SmsStatusResult": {
    "type": "object",
    "additionalProperties": false,
    "required": [
     "id",
     "status",
     "changed"
    ],
    "properties": {
     "id": {
      "type": "string",
      "format": "uuid",
      "description": "Our message id."
     },
     "status": {
      "type": "string",
      "enum": [
       "queued",
       "sending",
       "sent",
       "delivered",
       "undelivered",
       "failed",
       "expired",
       "canceled"
      ],
      "description": "The message's delivery status after this report."
     },
     "changed": {
      "type": "boolean",
      "description": "false when the report was old news (repeated, late or intermediate)."
     }
    }
   },
   "SmsStatusResponse": {
    "type": "object",
    "required": [
     "meta",
     "data"
    ],
    "properties": {
     "meta": {
      "$ref": "#/components/schemas/Meta"
     },
     "data": {
      "$ref": "#/components/schemas/SmsStatusResult"
     }
    }
   }
  }
 }
};
