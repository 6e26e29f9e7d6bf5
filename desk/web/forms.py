"""The desk's forms (Flask-WTF: every one carries the CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField, HiddenField, IntegerField, MultipleFileField, PasswordField, RadioField, SelectField,
    SelectMultipleField, StringField, TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from desk.models import ROLES
from desk.sla.incidents import KINDS


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select or radio field (WTForms 3.3 deprecates tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class LanguageForm(FlaskForm):
    locale = HiddenField("Language", validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that needs nothing but the CSRF token (acknowledge, confirm)."""


class FaultForm(FlaskForm):
    unit = SelectField("Unit", coerce=int, validators=[InputRequired()])
    kind = RadioField("Kind", choices=options((k, k) for k in KINDS), default="interruption",
                      validators=[DataRequired()])
    # WTForms' Chinese for its default message says "greater than 1" though 1 is allowed (the upper
    # bound, the contract's card count, is the service's to check).
    affected_cards = IntegerField("Affected cards", validators=[
        Optional(), NumberRange(min=1, message="must be a whole number, at least 1")])
    location = StringField("Where", validators=[Optional(), Length(max=300)])
    started_at = StringField("When it began", validators=[Optional(), Length(max=40)])
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=4000)])
    attachments = MultipleFileField("Photos or documents")


class CommentForm(FlaskForm):
    body = TextAreaField("Comment", validators=[DataRequired(), Length(max=4000)])


class AttachForm(FlaskForm):
    files = MultipleFileField("Photos or documents")


class AssignForm(FlaskForm):
    engineer = SelectField("Engineer", coerce=int, validators=[InputRequired()])


class MergeForm(FlaskForm):
    duplicate = SelectField("Duplicate incident", coerce=int, validators=[InputRequired()])


class StartedForm(FlaskForm):
    started_at = StringField("Interruption began", validators=[DataRequired(), Length(max=40)])


class RestoreForm(FlaskForm):
    restored_at = StringField("Restored at (empty: now)", validators=[Optional(), Length(max=40)])


class DisputeForm(FlaskForm):
    reason = TextAreaField("Why is service not restored?", validators=[DataRequired(), Length(max=4000)])


class CauseForm(FlaskForm):
    cause = SelectField("Cause", validators=[DataRequired()])
    evidence = TextAreaField("Evidence", validators=[DataRequired(), Length(max=4000)])
    maintenance_notice = SelectField("Maintenance notice", coerce=int, default=0, validators=[Optional()])


class DecideCauseForm(FlaskForm):
    note = TextAreaField("Note", validators=[Optional(), Length(max=4000)])


class PaymentForm(FlaskForm):
    paid_at = StringField("Paid at", validators=[DataRequired(), Length(max=40)])
    amount = StringField("Amount (CNY)", validators=[DataRequired(), Length(max=30)])
    note = StringField("Note", validators=[Optional(), Length(max=500)])


class MaintenanceForm(FlaskForm):
    window_start = StringField("Window starts", validators=[DataRequired(), Length(max=40)])
    window_end = StringField("Window ends", validators=[DataRequired(), Length(max=40)])
    notice_at = StringField("Notice given at (empty: now)", validators=[Optional(), Length(max=40)])
    description = TextAreaField("Description", validators=[DataRequired(), Length(max=4000)])


class TerminationForm(FlaskForm):
    decision = RadioField("Decision", choices=options([("exercised", "exercised"), ("not_exercised", "not_exercised")]),
                          validators=[DataRequired()])
    note = TextAreaField("Note", validators=[Optional(), Length(max=4000)])


class UserForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    display_name = StringField("Name", validators=[Optional(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=200)])
    role = SelectField("Role", choices=options((r, r) for r in ROLES), validators=[DataRequired()])
    unit = SelectField("Unit", validators=[Optional()])
    contracts = SelectMultipleField("Contracts", validators=[Optional()])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    on_duty = BooleanField("On duty (gets new-ticket SMS)")


class UserActiveForm(FlaskForm):
    active = HiddenField("Active", validators=[DataRequired()])


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=200)])


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    contracts = SelectMultipleField("Contracts", validators=[DataRequired()])


class ContractTomlForm(FlaskForm):
    toml = TextAreaField("Contract file (TOML)", validators=[DataRequired(), Length(max=200_000)])
