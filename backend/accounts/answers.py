"""What the account routes and pages both answer with: the user's shape, and an e-mail sent after the answer."""

from __future__ import annotations

from litestar.background_tasks import BackgroundTask

from backend.accounts import services
from backend.accounts.schemas import UserOut
from backend.config import Settings
from backend.shared import mail
from backend.shared.principal import Principal


def user_out(user: services.User | Principal) -> UserOut:
    user_id = user.id if isinstance(user, services.User) else user.user_id
    return UserOut(id=user_id, email=user.email, display_name=user.display_name, role=user.role)


def later(message: services.Mail | None, settings: Settings) -> BackgroundTask | None:
    """Sends an account e-mail after the answer has gone, so that the answer's timing is the same with or without."""
    if message is None:
        return None
    return BackgroundTask(mail.send_account_mail, settings, message.to, message.subject, message.text)
