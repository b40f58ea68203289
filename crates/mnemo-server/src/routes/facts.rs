//! Facts and conflicts (written by the facts helper).

use crate::api::Api;

pub(crate) fn routes(api: Api) -> Api {
    api
}
