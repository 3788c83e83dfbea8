pub fn routes() -> Vec<crate::web::RouteDef> {
    vec![]
}
