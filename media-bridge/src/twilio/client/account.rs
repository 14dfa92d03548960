//! The account side of the Twilio REST adapter: which numbers may be used as caller id, and
//! the balance checked before a campaign starts.

use super::{TwilioClient, TwilioError};
use protocols::twilio::{
    self as wire, AccountResource, Balance, IncomingPhoneNumbers, OutgoingCallerIds,
};

impl TwilioClient {
    /// Whether `number` (E.164) is one of the account's own numbers or a verified outgoing
    /// caller id — the only numbers Twilio lets a call come from.
    #[tracing::instrument(skip_all)]
    pub async fn owns_caller_id(&self, number: &str) -> Result<bool, TwilioError> {
        let query = wire::encode_form(&[("PhoneNumber", number)]);
        let owned: IncomingPhoneNumbers = self
            .get(&format!("IncomingPhoneNumbers.json?{query}"))
            .await?;
        if owned
            .incoming_phone_numbers
            .iter()
            .any(|n| n.phone_number == number)
        {
            return Ok(true);
        }
        let verified: OutgoingCallerIds =
            self.get(&format!("OutgoingCallerIds.json?{query}")).await?;
        Ok(verified
            .outgoing_caller_ids
            .iter()
            .any(|n| n.phone_number == number))
    }

    /// `GET /2010-04-01/Accounts/{sid}.json`: the account the credentials open.
    #[tracing::instrument(skip_all)]
    pub async fn fetch_account(&self) -> Result<AccountResource, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}.json",
            self.config.api_base, self.config.account_sid
        );
        self.send(reqwest::Method::GET, &url, None).await
    }

    /// `GET …/Balance.json`.
    #[tracing::instrument(skip_all)]
    pub async fn balance(&self) -> Result<Balance, TwilioError> {
        self.get("Balance.json").await
    }
}
